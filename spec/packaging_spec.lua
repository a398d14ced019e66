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

