-- luacheck (Debian's lua-check): `make lint` checks every Lua file with it.
-- Library code must run on Lua 5.1-5.4 and LuaJIT: only what all of them
-- share ("min").  Code that only ever runs inside nginx gets ngx_lua.
std = "min"
max_line_length = 120

files["spec/"] = { std = "min+busted" }
files["sim/lua/"] = { std = "luajit+ngx_lua" }
files["examples/openresty/"] = { std = "luajit+ngx_lua" }
files["lua/accelerate/ngx.lua"] = { std = "luajit+ngx_lua" }
files["lua/accelerate/runner.lua"] = { std = "luajit+ngx_lua" }
files["lua/accelerate/runner/"] = { std = "luajit+ngx_lua" }
files["bin/accelerate"] = { std = "lua54" }

-- Specs hold tables of cases, one per line.
files["spec/"].max_line_length = 170
