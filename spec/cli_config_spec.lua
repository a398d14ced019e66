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

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
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
    write(dir .. "/c", "# a comment\r\n\n  url = \"http://h:1\"  \r\ntenant-id='t 1'\nauth_type=UID\nempty=\n")
    assert.same({ url = "http://h:1", tenant_id = "t 1", auth_type = "UID", empty = "" },
      config.read_file(dir .. "/c"))
  end)

  it("names the line that is not key=value, and passes on an unreadable file's error", function()
    write(dir .. "/c", "url=x\n\nthis is not a setting\n")
    local cfg, err = config.read_file(dir .. "/c")
    assert.is_nil(cfg)
    assert.equal(dir .. "/c:3: expected key=value", err)
    cfg, err = config.read_file(dir .. "/missing")
    assert.is_nil(cfg)
    assert.matches("missing", err)
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
