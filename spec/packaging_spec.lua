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
