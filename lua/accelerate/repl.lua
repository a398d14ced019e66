-- accelerate.repl: a first answer in three lines, at Lua 5.4's prompt.
--
--   lua5.4 -i lua/accelerate/repl.lua     (a checkout, after make build)
--   lua5.4 -i -l accelerate.repl          (installed, or with the paths set)
--
-- Run from a checkout it puts the checkout's lua/ and build/<lua>/ first on
-- the paths, so that its own module and core are the ones loaded.  Then it
-- sets the globals `accelerate` (the module) and `client`, made from the
-- settings the command reads (ACCELERATE_* variables, the config file:
-- accelerate.cli.config), and says so on stderr.  The prompt prints a
-- result with tostring, which gives every answer's one line
-- (accelerate.show); accelerate.inspect(x) shows the whole of it.
local _M = {}

-- the checkout this file is in, when it is run as a script from one
local function checkout_root()
  local info = debug.getinfo(1, "S")
  local src = info and info.source or ""
  local root = src:match("^@(.-)lua/accelerate/repl%.lua$")
  if root == nil then return nil end
  return root == "" and "./" or root
end

local function put_paths(root)
  local dir = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
  package.path = root .. "lua/?.lua;" .. root .. "lua/?/init.lua;" .. package.path
  package.cpath = root .. "build/" .. dir .. "/?.so;" .. package.cpath
end

-- syntax: client, err = repl.client()
-- A client from the command's settings (flags aside), or nil, why not.
function _M.client(accelerate)
  local config = require "accelerate.cli.config"
  local ctx = { getenv = os.getenv, secrets = {}, err = function(s) io.stderr:write(s) end }
  local ok, conn = pcall(config.connection, { values = {} }, ctx)
  if not ok then
    return nil, type(conn) == "table" and (conn.message or conn.msg) or tostring(conn)
  end
  return accelerate.new(conn)
end

function _M.start()
  local root = checkout_root()
  if root then put_paths(root) end
  local accelerate = require "accelerate"
  rawset(_G, "accelerate", accelerate)
  local client, err = _M.client(accelerate)
  rawset(_G, "client", client)
  if client then
    io.stderr:write("accelerate: client = ", tostring(client),
      "\ntry: client:list_plans()   accelerate.inspect(x) shows all of x\n")
  else
    io.stderr:write("accelerate: no client (", tostring(err),
      "); client = accelerate.new { url =, tenant_id =, auth_type =, auth_value = }\n")
  end
  return _M
end

return _M.start()
