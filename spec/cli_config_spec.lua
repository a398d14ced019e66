-- Connection settings (accelerate.cli.config) on their own: the config file
-- format, which file is read, flags over environment over file, the auth
-- value and its files, and how a refused setting becomes a usage error.
require("spec.helpers").paths()

local config = require "accelerate.cli.config"
local context = require "accelerate.cli.context"
local util = require "accelerate.util"

local function sink()
  local buf = {}
  return {
    write = function(self, s) buf[#buf + 1] = s return self end,
    flush = function(self) return self end,
    text = function() return table.concat(buf) end,
  }
end

-- A context over env (a table) with captured streams.
local function ctx_for(env, new_client)
  local err = sink()
  local ctx = context.new { stdout = sink(), stderr = err, getenv = function(k) return env[k] end,
    new_client = new_client }
  return ctx, err
end

local function opts(values) return { command = "detail", values = values or {}, flags = {}, args = { "1" } } end

-- Files are written 0600, as the documentation asks of a file with a secret.
local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  os.execute("chmod 600 '" .. path .. "'")
end

local function usage_message(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  assert.equal("usage", err.kind)
  return err.message
end

describe("cli.config", function()
  local dir

  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p '" .. dir .. "'"))
  end)
  after_each(function()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("reads key=value lines: comments, blanks, quotes, CRLF and dashed keys", function()
    write(dir .. "/c", "# a comment\r\n\n  url = \"http://h:1\"  \r\ntenant-id='t 1'\nauth_type=UID\n")
    assert.same({ url = "http://h:1", tenant_id = "t 1", auth_type = "UID" },
      config.read_file(dir .. "/c"))
  end)

  it("names the line that is not key=value, and passes on an unreadable file's error", function()
    write(dir .. "/c", "url=http://x:1\n\nthis is not a setting\n")
    local cfg, err = config.read_file(dir .. "/c")
    assert.is_nil(cfg)
    assert.equal(dir .. "/c:3: expected key=value", err)
    local missing
    cfg, err, missing = config.read_file(dir .. "/missing")
    assert.is_nil(cfg)
    assert.equal("No such file or directory", err)   -- the caller names the file, once
    assert.is_true(missing)
  end)

  it("picks --config, then ACCELERATE_CONFIG, then XDG_CONFIG_HOME, then HOME", function()
    local env = { ACCELERATE_CONFIG = "/a", XDG_CONFIG_HOME = "/x", HOME = "/h" }
    local ctx = ctx_for(env)
    assert.same({ "/f", true }, { config.path(opts { config = "/f" }, ctx) })
    assert.same({ "/a", true }, { config.path(opts(), ctx) })
    env.ACCELERATE_CONFIG = ""
    assert.same({ "/x/accelerate/config", false }, { config.path(opts(), ctx) })
    env.XDG_CONFIG_HOME = nil
    assert.same({ "/h/.config/accelerate/config", false }, { config.path(opts(), ctx) })
    env.HOME = nil
    assert.same({ nil, false }, { config.path(opts(), ctx) })
  end)

  it("takes each setting from the flag, else the environment, else the file", function()
    write(dir .. "/c", "url=http://file:1\ntenant_id=file-t\nauth_type=TOKEN\nauth_value=file-secret\n"
      .. "timeout=7\nretries=4\n")
    local env = { ACCELERATE_CONFIG = dir .. "/c" }
    local ctx = ctx_for(env)
    local conn = config.connection(opts(), ctx)
    assert.same({ url = "http://file:1", tenant_id = "file-t", auth_type = "TOKEN", auth_value = "file-secret",
      timeout = 7, retries = 4 }, conn)
    env.ACCELERATE_TENANT_ID, env.ACCELERATE_URL = "env-t", ""
    conn = config.connection(opts { ["tenant-id"] = "", retries = "1", ["request-timeout"] = "2.5" }, ctx)
    assert.same({ "http://file:1", "env-t", 1, 2.5 }, { conn.url, conn.tenant_id, conn.retries, conn.timeout })
    conn = config.connection(opts { ["tenant-id"] = "flag-t" }, ctx)
    assert.equal("flag-t", conn.tenant_id)
  end)

  it("reads the auth value from its file, in order, and remembers it as a secret", function()
    write(dir .. "/s1", "  one  \nsecond line\n")
    write(dir .. "/s2", "two\n")
    write(dir .. "/c", "auth_value_file=" .. dir .. "/s2\nauth_value=three\n")
    local env = { ACCELERATE_URL = "http://h:1", ACCELERATE_TENANT_ID = "t", ACCELERATE_AUTH_TYPE = "UID",
      ACCELERATE_CONFIG = dir .. "/c" }
    local ctx, err = ctx_for(env)
    assert.equal("two", config.connection(opts(), ctx).auth_value)
    env.ACCELERATE_AUTH_VALUE_FILE = dir .. "/s1"
    assert.equal("one", config.connection(opts(), ctx).auth_value)
    env.ACCELERATE_AUTH_VALUE = "env-value"
    assert.equal("env-value", config.connection(opts(), ctx).auth_value)
    assert.equal("two", config.connection(opts { ["auth-value-file"] = dir .. "/s2" }, ctx).auth_value)
    assert.equal("", err.text())
    assert.equal("flag-value", config.connection(opts { ["auth-value"] = "flag-value" }, ctx).auth_value)
    assert.matches("warning: %-%-auth%-value shows in the process list", err.text())
    assert.same({ "two", "one", "env-value", "two", "flag-value" }, ctx.secrets)
    assert.equal("*** *** *** ***", ctx.redact("flag-value env-value one two"))
  end)

  it("makes a missing setting or an unreadable file a usage error", function()
    local env = { ACCELERATE_URL = "http://h:1", ACCELERATE_TENANT_ID = "t", ACCELERATE_AUTH_TYPE = "UID",
      ACCELERATE_AUTH_VALUE = "v", HOME = dir }
    local ctx = ctx_for(env)
    assert.equal("v", config.connection(opts(), ctx).auth_value)   -- a missing default file is fine
    assert.matches("^cannot read config file /nonexistent/c: ",
      usage_message(config.connection, opts { config = "/nonexistent/c" }, ctx))
    assert.matches("^cannot read the auth value file /nonexistent/s: ",
      usage_message(config.connection, opts { ["auth-value-file"] = "/nonexistent/s" }, ctx))
    for name, text in pairs { ACCELERATE_URL = "no API url", ACCELERATE_TENANT_ID = "no tenant id",
      ACCELERATE_AUTH_TYPE = "no auth type", ACCELERATE_AUTH_VALUE = "no auth value" } do
      local saved = env[name]
      env[name] = nil
      local msg = usage_message(config.connection, opts(), ctx)
      assert.equal(text .. ": ", msg:sub(1, #text + 2))
      local tail = "config file " .. dir .. "/.config/accelerate/config)"
      assert.equal(tail, msg:sub(-#tail))
      env[name] = saved
    end
  end)

  -- Issue 10, item 11: a strict, documented format, the same in every file.
  it("refuses what it cannot use, naming path:line: unknown keys, bad values, trailing comments", function()
    local cases = {
      { "url=http://h:1\nthis is not a setting\n", ":2: expected key=value" },
      { "timeout = abc\n", ":1: timeout must be a number > 0" },
      { "timeout = 0\n", ":1: timeout must be a number > 0" },
      { "# retries\nretries = 99\n", ":2: retries must be an integer from 0 to 10" },
      { "retries = 0x2\n", ":1: retries must be a whole number >= 0" },
      { "auth_value = u-1   # my uid\n", ":1: a comment must be on a line of its own" },
      { "colour = red\n", ":1: unknown key colour" },
      { "url = http://a:1\nurl = http://b:1\n", ":2: url is already set on line 1" },
      { "url =\n", ":1: url has no value" },
      { "auth_type = NONE\n", ":1: auth_type must be one of UID, TOKEN, ACCOUNT, APIKEY" },
      { "url = ftp://h\n", ":1: url must be http(s)" },
    }
    for _, case in ipairs(cases) do
      write(dir .. "/c", case[1])
      local cfg, err = config.read_file(dir .. "/c")
      assert.is_nil(cfg, case[1])
      assert.equal(dir .. "/c" .. case[2], err:sub(1, #dir + 2 + #case[2]), case[1])
    end
    -- a value may hold a # when quoted, or without a blank before it
    write(dir .. "/c", "auth_value = \"u-1 # not a comment\"\ntenant_id = t#1\n")
    assert.same({ auth_value = "u-1 # not a comment", tenant_id = "t#1" }, config.read_file(dir .. "/c"))
  end)

  it("refuses a bad default config file as it refuses --config, with exit 2", function()
    local cli = require "accelerate.cli"
    os.execute("mkdir -p '" .. dir .. "/accelerate'")
    write(dir .. "/accelerate/config", "url = http://h:1\ntimeout = abc\n")
    local env = { XDG_CONFIG_HOME = dir, ACCELERATE_TENANT_ID = "t", ACCELERATE_AUTH_TYPE = "UID",
      ACCELERATE_AUTH_VALUE = "v" }
    local out, err = sink(), sink()
    local code = cli.main({ "detail", "1" }, { stdout = out, stderr = err, getenv = function(k) return env[k] end,
      new_client = function() return {} end })
    assert.equal(2, code)
    assert.matches("accelerate: " .. dir .. "/accelerate/config:2: timeout must be a number > 0", err.text(), 1, true)
  end)

  it("expands ~/ in file names, from HOME", function()
    write(dir .. "/secret", "from-home\n")
    write(dir .. "/c", "auth_value_file = ~/secret\n")
    os.execute("chmod 600 '" .. dir .. "/secret' '" .. dir .. "/c'")
    local env = { ACCELERATE_URL = "http://h:1", ACCELERATE_TENANT_ID = "t", ACCELERATE_AUTH_TYPE = "UID",
      HOME = dir, ACCELERATE_CONFIG = "~/c" }
    local ctx, err = ctx_for(env)
    assert.equal("from-home", config.connection(opts(), ctx).auth_value)
    assert.equal("from-home", config.connection(opts { ["auth-value-file"] = "~/secret" }, ctx).auth_value)
    assert.equal("", err.text())
  end)

  it("warns when a file holding the auth value is readable by group or others", function()
    write(dir .. "/c", "url = http://h:1\ntenant_id = t\nauth_type = UID\nauth_value = u-1\n")
    write(dir .. "/s", "u-2\n")
    local env = { ACCELERATE_CONFIG = dir .. "/c" }
    os.execute("chmod 644 '" .. dir .. "/c'")
    local ctx, err = ctx_for(env)
    assert.equal("u-1", config.connection(opts(), ctx).auth_value)
    assert.matches("warning: " .. dir .. "/c holds the auth value and is readable by others (mode 644)",
      err.text(), 1, true)
    os.execute("chmod 640 '" .. dir .. "/c'")
    ctx, err = ctx_for(env)
    config.connection(opts(), ctx)
    assert.matches("readable by group (mode 640)", err.text(), 1, true)
    os.execute("chmod 600 '" .. dir .. "/c'")
    os.execute("chmod 604 '" .. dir .. "/s'")
    ctx, err = ctx_for(env)
    assert.equal("u-1", config.connection(opts(), ctx).auth_value)
    assert.equal("", err.text())
    assert.equal("u-2", config.connection(opts { ["auth-value-file"] = dir .. "/s" }, ctx).auth_value)
    assert.matches("warning: " .. dir .. "/s holds the auth value and is readable by others (mode 604)",
      err.text(), 1, true)
  end)

  it("turns a client's refusal of the settings into a usage error, and raises other failures", function()
    local env = { ACCELERATE_URL = "ftp://h", ACCELERATE_TENANT_ID = "t", ACCELERATE_AUTH_TYPE = "UID",
      ACCELERATE_AUTH_VALUE = "v" }
    local ctx = ctx_for(env, function() return nil, util.new_error("invalid", "url must be http(s)") end)
    assert.equal("bad connection settings: url must be http(s)",
      usage_message(config.client, opts(), ctx))
    local failure = util.new_error("http", "no route")
    ctx = ctx_for(env, function() return nil, failure end)
    local ok, err = pcall(config.client, opts(), ctx)
    assert.is_false(ok)
    assert.equal(failure, err)
    local client = {}
    ctx = ctx_for(env, function() return client end)
    assert.equal(client, config.client(opts(), ctx))
  end)
end)
