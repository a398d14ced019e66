-- Packaging: the version's one home and the CHANGELOG, the rockspec, a
-- LuaRocks install with the README's recipe, and `make install`/`uninstall`.
-- Run with busted --lua=lua5.4 (make test-pkg).
local helpers = require "spec.helpers"

local root = helpers.root
local quote = helpers.quote

describe("the version", function()
  it("is one: CHANGELOG.md's top entry names accelerate.VERSION, which the workflow and --version carry", function()
    local accelerate = helpers.core()
    local workflow = require "accelerate.workflow"
    local log = assert(helpers.read_file(root .. "/CHANGELOG.md"))
    local top = log:match("\n## (%d+%.%d+%.%d+)")
    assert.is_string(top, "CHANGELOG.md has no '## X.Y.Z' entry")
    assert.equals(accelerate.VERSION, top)
    assert.equals(accelerate.VERSION, workflow._VERSION)
    local code, out = helpers.sh("cd " .. quote(root) .. " && lua5.4 bin/accelerate --version 2>&1")
    assert.equals(0, code)
    assert.equals("accelerate " .. accelerate.VERSION .. "\n", out)
    -- no second home: no Lua file spells a version of its own
    local _, hits = helpers.sh("cd " .. quote(root) .. " && grep -rnE '_?VERSION *= *\"[0-9]' lua bin || true")
    assert.equals("", hits)
  end)
end)

-- Every .lua file under lua/, as module names and paths (a.b -> lua/a/b.lua).
local function lua_modules()
  local _, out = helpers.sh("cd " .. quote(root) .. " && find lua -name '*.lua' | LC_ALL=C sort")
  local mods = {}
  for path in out:gmatch("[^\n]+") do
    mods[#mods + 1] = { name = path:gsub("^lua/", ""):gsub("%.lua$", ""):gsub("/", "."), path = path }
  end
  return mods
end

-- A temporary folder, removed by the caller.
local function tmpdir()
  local _, out = helpers.sh("mktemp -d /tmp/accelerate-pkg.XXXXXX")
  return (out:gsub("%s+$", ""))
end

-- Every file below dir, relative to it, sorted.
local function files_below(dir)
  local _, out = helpers.sh("cd " .. quote(dir) .. " && find . -type f -o -type l | sed 's|^\\./||' | LC_ALL=C sort")
  local list = {}
  for f in out:gmatch("[^\n]+") do list[#list + 1] = f end
  return list
end

describe("the rockspec", function()
  local text = assert(helpers.read_file(root .. "/accelerate-scm-0.rockspec"))
  local spec = {}
  assert(load(text, "rockspec", "t", spec))()

  it("maps every module under lua/ to its file, and nothing else", function()
    local want = {}
    for _, m in ipairs(lua_modules()) do want[m.name] = m.path end
    local have = {}
    for name, v in pairs(spec.build.modules) do
      if type(v) == "string" then have[name] = v end
    end
    assert.same(want, have)
    -- and every C file of the core
    local _, out = helpers.sh("cd " .. quote(root) .. " && ls src/*.c | LC_ALL=C sort")
    local c = {}
    for f in out:gmatch("[^\n]+") do c[#c + 1] = f end
    local listed = {}
    for i, f in ipairs(spec.build.modules["accelerate.core"].sources) do listed[i] = f end
    table.sort(listed)
    assert.same(c, listed)
  end)

  it("names no path of a machine in source.url", function()
    assert.is_nil(spec.source.url:match("^git%+file:"))
    assert.is_nil(spec.source.url:match("^file:"))
    assert.is_nil(spec.source.url:match("^/"))
  end)

  it("installs with the README's recipe, offline, into a tree: the command and require work from elsewhere", function()
    local readme = assert(helpers.read_file(root .. "/README.md"))
    local recipe = readme:match("<!%-%- spec/packaging_spec%.lua runs these lines[^\n]*\n```sh\n(.-)```")
    assert.is_string(recipe, "README.md has no marked LuaRocks recipe")
    assert.matches("luarocks %-%-lua%-version=5%.4 make %-%-local", recipe)
    local dir = tmpdir()
    local tree, copy, home = dir .. "/tree", dir .. "/checkout", dir .. "/home"
    -- a fresh copy of the checkout's files (luarocks make writes objects into it)
    assert(helpers.run("mkdir -p " .. quote(copy) .. " " .. quote(home) .. " && cd " .. quote(root)
      .. " && git ls-files -z | tar --null -T - -cf - | tar -C " .. quote(copy) .. " -xf -"))
    local script = recipe:gsub("%-%-local", "--tree " .. quote(tree))
    -- the command and the module run from a folder outside the checkout
    script = script:gsub("\naccelerate %-%-version", "\ncd /tmp && accelerate --version")
    local code, out = helpers.sh("cd " .. quote(copy) .. " && env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4"
      .. " -u LUA_CPATH_5_4 HOME=" .. quote(home) .. " PATH=/usr/bin:/bin bash -e -c "
      .. quote(script) .. " 2>&1")
    local accelerate = helpers.core()
    local ok = code == 0 and out:find("\naccelerate " .. accelerate.VERSION .. "\n" .. accelerate.VERSION .. "\n$", 1)
    helpers.run("rm -rf " .. quote(dir))
    assert.is_truthy(ok, out)
  end)
end)

describe("make install", function()
  it("installs under LuaRocks' layout and uninstall removes exactly that", function()
    local dir = tmpdir()
    local code, out = helpers.sh("make -C " .. quote(root) .. " --no-print-directory install DESTDIR=" .. quote(dir)
      .. " PREFIX=/usr/local LUA_VERSION=5.4 2>&1")
    assert.equal(0, code, out)
    local want = {
      "usr/local/bin/accelerate",
      "usr/local/lib/lua/5.4/accelerate/core.so",
      "usr/local/share/bash-completion/completions/accelerate",
      "usr/local/share/man/man1/accelerate.1",
    }
    for _, m in ipairs(lua_modules()) do want[#want + 1] = "usr/local/share/lua/5.4/" .. m.path:gsub("^lua/", "") end
    table.sort(want)
    assert.same(want, files_below(dir))
    local bin = dir .. "/usr/local/bin/accelerate"
    assert.equal("#!/usr/bin/env lua5.4", (helpers.read_file(bin):match("^[^\n]*")))
    -- the installed command runs from elsewhere, on the installed modules
    local vcode, vout = helpers.sh("cd /tmp && " .. quote(bin) .. " --version 2>&1")
    assert.equal(0, vcode, vout)
    assert.equal("accelerate " .. helpers.core().VERSION .. "\n", vout)
    local rcode, rout = helpers.sh("cd /tmp && LUA_PATH_5_4=" .. quote(dir .. "/usr/local/share/lua/5.4/?.lua;;")
      .. " LUA_CPATH_5_4=" .. quote(dir .. "/usr/local/lib/lua/5.4/?.so;;")
      .. " lua5.4 -e 'local a = require \"accelerate\"; print(package.searchpath(\"accelerate.core\", package.cpath))' 2>&1")
    assert.equal(0, rcode, rout)
    assert.equal(dir .. "/usr/local/lib/lua/5.4/accelerate/core.so\n", rout)

    code, out = helpers.sh("make -C " .. quote(root) .. " --no-print-directory uninstall DESTDIR=" .. quote(dir)
      .. " PREFIX=/usr/local LUA_VERSION=5.4 2>&1")
    assert.equal(0, code, out)
    local left = files_below(dir)
    local _, dirs = helpers.sh("find " .. quote(dir) .. " -type d -name accelerate")
    helpers.run("rm -rf " .. quote(dir))
    assert.same({}, left)
    assert.equal("", dirs)
  end)

  it("for LuaJIT: the 5.1 folders and a luajit interpreter line", function()
    local dir = tmpdir()
    local code, out = helpers.sh("make -C " .. quote(root) .. " --no-print-directory install DESTDIR=" .. quote(dir)
      .. " PREFIX=/opt/acc LUA_VERSION=jit 2>&1 && cd /tmp && " .. quote(dir .. "/opt/acc/bin/accelerate")
      .. " --version 2>&1")
    local bin = helpers.read_file(dir .. "/opt/acc/bin/accelerate") or ""
    local so = helpers.read_file(dir .. "/opt/acc/lib/lua/5.1/accelerate/core.so")
    helpers.run("rm -rf " .. quote(dir))
    assert.equal(0, code, out)
    assert.equal("#!/usr/bin/env luajit", bin:match("^[^\n]*"))
    assert.is_string(so)
    assert.matches("accelerate %d", out)
  end)
end)
