-- accelerate(1) and the bash completion.  The completion script is sourced
-- into a real bash and its function called as bash calls it (COMP_WORDS,
-- COMP_CWORD); what it offers is compared with the command's own lists
-- (accelerate.cli.args), and plan names come from a simulator.  The man
-- page (make man) is rendered with man -l and must name every command.
-- Run with busted --lua=lua5.4 (make test-pkg builds the page first).
local helpers = require "spec.helpers"
helpers.paths()

local args = require "accelerate.cli.args"
local quote = helpers.quote
local root = helpers.root
local SCRIPT = root .. "/completion/accelerate.bash"

-- What _accelerate offers for the command line `words` (the last word is
-- the one being completed), sorted; env: extra environment assignments.
local function complete(words, env)
  local parts = {}
  for i, w in ipairs(words) do parts[i] = quote(w) end
  local script = table.concat({
    ". " .. quote(SCRIPT),
    "COMP_WORDS=(" .. table.concat(parts, " ") .. ")",
    "COMP_CWORD=" .. (#words - 1),
    "_accelerate",
    "printf '%s\\n' \"${COMPREPLY[@]}\"",
  }, "\n")
  local code, out = helpers.sh("cd /tmp && env " .. (env or "") .. " bash --norc --noprofile -c "
    .. quote(script) .. " 2>&1")
  assert.equal(0, code, out)
  local list = {}
  for line in out:gmatch("[^\n]+") do list[#list + 1] = line end
  table.sort(list)
  return list
end

local function sorted(t)
  local c = {}
  for i, v in ipairs(t) do c[i] = v end
  table.sort(c)
  return c
end

describe("bash completion", function()
  local BIN = root .. "/bin/accelerate"

  it("offers every command, and the commands after help", function()
    local all = sorted(args.commands())
    local with_help = sorted(args.commands())
    with_help[#with_help + 1] = "help"
    table.sort(with_help)
    assert.same(with_help, complete { "accelerate", "" })
    assert.same({ "instances" }, complete { "accelerate", "ins" })
    assert.same({ "plan", "plans" }, complete { "accelerate", "--json", "pla" })
    assert.same(all, complete { "accelerate", "help", "" })
  end)

  it("offers exactly each command's options (the parser's own list)", function()
    for _, c in ipairs(args.commands()) do
      assert.same(args.options(c), complete { "accelerate", c, "--" }, c)
    end
    -- before a command: the global ones; the command word is found after global options
    assert.same(args.options(nil), complete { "accelerate", "--" })
    assert.same({ "--status" }, complete { "accelerate", "--url", "http://x", "instances", "DAG", "--st" })
  end)

  it("offers the values of --format, --status, --type and --auth-type, also after --name=", function()
    assert.same({ "csv", "json", "table" }, complete { "accelerate", "instances", "D", "--format", "" })
    assert.same({ "json" }, complete { "accelerate", "plans", "--format", "=", "j" })
    assert.same({ "FAILED" }, complete { "accelerate", "instances", "D", "--status", "F" })
    assert.same({ "ACCELERATE", "EXTERNAL", "RESULT" }, complete { "accelerate", "plans", "--type", "" })
    assert.same({ "ACCOUNT", "APIKEY", "TOKEN", "UID" }, complete { "accelerate", "plans", "--auth-type", "" })
  end)

  describe("plan names", function()
    local sim
    setup(function() sim = helpers.start_sim { scenario = "test" } end)
    teardown(function() if sim then sim:stop() end end)

    local function env_of(url)
      return "HOME=/nonexistent XDG_CONFIG_HOME=/nonexistent ACCELERATE_URL=" .. quote(url)
        .. " ACCELERATE_TENANT_ID=" .. sim.tenant_id .. " ACCELERATE_AUTH_TYPE=" .. sim.auth_type
        .. " ACCELERATE_AUTH_VALUE=" .. quote(sim.auth_value)
    end

    it("come from `plans --json --no-details` of the configured tenant, after --plan and `plan`", function()
      sim:clear_requests()
      assert.same({ "gmv_monthly", "ledger_external", "sales_daily", "traffic_weekly" },
        complete({ BIN, "backfill", "--plan", "" }, env_of(sim.url)))
      assert.same({ "sales_daily" }, complete({ BIN, "plan", "sa" }, env_of(sim.url)))
      -- one list call each, no detail call
      assert.equal(2, #sim:requests { route = "plans" })
      assert.equal(0, #sim:requests { route = "plan" })
      -- the connection options of the line are passed on: another tenant's plans
      assert.same({ "inventory" }, complete({ BIN, "--tenant-id", "t2", "--auth-type", "TOKEN", "plan", "" },
        env_of(sim.url) .. " ACCELERATE_AUTH_VALUE=sim-token-t2-8e21"))
    end)

    it("are none when the configuration does not work", function()
      assert.same({}, complete({ BIN, "plan", "" }, "HOME=/nonexistent XDG_CONFIG_HOME=/nonexistent"))
      assert.same({}, complete({ BIN, "plan", "" }, env_of(sim.url) .. " ACCELERATE_AUTH_VALUE=wrong"))
    end)

    it("never block long: a server that never answers is given up within the timeout", function()
      local socket = require "socket"
      local silent = assert(socket.bind("127.0.0.1", 0))   -- listens, never accepts
      local _, port = silent:getsockname()
      local t0 = helpers.now()
      local got = complete({ BIN, "plan", "" }, env_of("http://127.0.0.1:" .. port)
        .. " ACCELERATE_COMPLETION_TIMEOUT=1")
      local elapsed = helpers.now() - t0
      silent:close()
      assert.same({}, got)
      assert.is_true(elapsed < 1.8, "took " .. elapsed .. " s")
    end)
  end)
end)

describe("accelerate(1)", function()
  local PAGE = root .. "/build/man/accelerate.1"

  it("is built (make man) and man -l renders it with every command, --version and the examples", function()
    assert(helpers.read_file(PAGE), "make man first (make test-pkg does)")
    local code, text = helpers.sh("MANWIDTH=100 man -l " .. quote(PAGE) .. " 2>&1 | col -bx")
    assert.equal(0, code, text)
    assert.matches("^ACCELERATE%(1%)", text)
    assert.matches("\nNAME\n%s+accelerate %- backfill", text)
    assert.matches("\nSYNOPSIS\n", text)
    assert.matches("%-%-version", text)
    local commands = text:match("\nCOMMANDS(\n.-)\n[A-Z][A-Z ]+\n")
    assert.is_string(commands, "no COMMANDS section")
    for _, c in ipairs(args.commands()) do
      assert.matches("\n   " .. c .. "\n%s+usage: accelerate " .. c, commands, 1, false)
    end
    assert.matches("\nEXAMPLES\n", text)
    local accelerate = helpers.core()
    assert.matches("accelerate " .. accelerate.VERSION:gsub("%.", "%%."), text)
  end)
end)
