-- The process around the command: its streams, environment, terminal test,
-- client constructor, sleep and clock.  Specs replace any of them to run
-- the command in-process with a fake client, terminal and clock.
--
-- Everything the command writes goes through ctx.out and ctx.err.  A write
-- to stdout that fails is remembered (ctx.out_error), so that the command
-- ends with exit 5 instead of losing its output silently.  Text a server
-- sent (error messages and details, stacks, SQL) goes through
-- ctx.redact, which replaces every known secret (ctx.secrets) with "***";
-- ids, dagNames and the fields a script reads are never touched.
--
-- Every server string printed as text (tables, details, reports, errors on
-- stderr, CSV) goes through ctx.text, the one place that strips control
-- characters (C0 but tab and newline, DEL, ESC, C1): a plan name holding
-- `ESC ] 0 ; ... BEL` must not set the terminal's title.  --json output
-- keeps them, escaped as JSON does.

local util = require "accelerate.util"

local type = type
local next = next
local getmetatable = getmetatable
local setmetatable = setmetatable
local str_char = string.char
local str_gsub = string.gsub
local pcall = pcall
local tostring = tostring
local os_getenv = os.getenv

local _M = {}

-- Whether fd is a terminal, asked of the process itself (the core's
-- isatty): a child such as `test -t` would have the caller ignore SIGINT
-- while it runs (system(3)), and a Ctrl-C at that moment would be lost.
local function default_isatty(fd)
  local ok, core = pcall(require, "accelerate.core")
  if not ok or type(core) ~= "table" or not core.isatty then return false end
  return core.isatty(fd)
end

-- syntax: core = context.core()
-- The C core (`require "accelerate"`), or nil when it is not built; the
-- command checks with it what the core will refuse, before anything.
function _M.core()
  local ok, core = pcall(require, "accelerate")
  if ok and type(core) == "table" then return core end
  return nil, core
end

local function default_new_client(opts)
  local core, why = _M.core()
  if not core or not core.new then
    return nil, util.new_error("invalid", "the C module `accelerate` is not installed or not built "
      .. "(make build): " .. tostring(why))
  end
  local cok, client, err = pcall(core.new, opts)
  if not cok then return nil, client end
  return client, err
end

-- The width of the terminal on fd, from the core (TIOCGWINSZ), or nil.
local function default_term_width(fd)
  local core = _M.core()
  if not core or not core.term_width then return nil end
  local ok, w = pcall(core.term_width, fd)
  if ok and type(w) == "number" and w > 0 then return w end
  return nil
end

local scrub = util.mask_secrets

-- What a control character becomes in text: nothing, but tab and newline
-- (multi-line stacks and SQL keep their lines).  %c is C's iscntrl: 0-31
-- and DEL, ESC among them.
local CONTROL = { ["\t"] = "\t", ["\n"] = "\n" }
for b = 0, 31 do CONTROL[str_char(b)] = CONTROL[str_char(b)] or "" end
CONTROL["\127"] = ""

-- s without control characters (ctx.text is its one entry).  C1 controls (U+0080..U+009F) are the
-- UTF-8 pairs C2 80..C2 9F, never a lone byte 0x80..0x9F: those are the
-- continuation bytes of any non-ASCII text (a plan named in Chinese).
local function strip(s)
  s = str_gsub(s, "%c", CONTROL)
  return (str_gsub(s, "\194[\128-\159]", ""))
end

-- v with every string in it stripped: a string, or a copy of a table (the
-- same metatable; nested tables copied the same way, cycles kept).
local function clean(v, seen)
  local t = type(v)
  if t == "string" then return strip(v) end
  if t ~= "table" then return v end
  if seen[v] then return seen[v] end
  local copy = {}
  seen[v] = copy
  for k, x in next, v do copy[clean(k, seen)] = clean(x, seen) end
  return setmetatable(copy, getmetatable(v))
end

-- syntax: ctx = context.new(env)
-- env (all optional): stdout, stderr, getenv, isatty(fd), term_width(fd),
-- new_client(conn), sleep, clock.  ctx has the same fields (with defaults), secrets = {},
-- out(s) and err(s); ctx.current_dag is set once a backfill is known.
function _M.new(env)
  env = env or {}
  local ctx = {
    stdout = env.stdout or io.stdout,
    stderr = env.stderr or io.stderr,
    getenv = env.getenv or os_getenv,
    isatty = env.isatty or default_isatty,
    term_width = env.term_width or default_term_width,
    new_client = env.new_client or default_new_client,
    sleep = env.sleep,
    clock = env.clock,
    secrets = {},
  }
  -- The first failure of a write or flush to stdout is kept (ctx.out_error).
  local function kept(what, ok, err)
    if not ok and not ctx.out_error then ctx.out_error = tostring(err or (what .. " failed")) end
    return ctx.out_error
  end
  function ctx.out(s) kept("write", ctx.stdout:write(s)) end
  function ctx.err(s) ctx.stderr:write(s) ctx.stderr:flush() end
  function ctx.redact(s)
    if type(s) ~= "string" then return s end
    return scrub(ctx.secrets, s)
  end
  -- syntax: v = ctx.text(v)
  -- What a server sent, made fit for a terminal: v (a string, or a table
  -- copied) with every control character stripped (strip, above).  Only
  -- for text; --json prints the data as it came.
  function ctx.text(v) return clean(v, {}) end
  -- syntax: err = ctx.flush_out()
  -- Flushes stdout; the first failure of any write or of the flush, or nil.
  function ctx.flush_out() return kept("flush", ctx.stdout:flush()) end
  return ctx
end

return _M
