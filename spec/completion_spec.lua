-- accelerate(1) and the completion scripts.  The bash script, as
-- `accelerate completion bash` writes it from the commands' declarations,
-- is sourced into a real bash and its function called as bash calls it
-- (COMP_WORDS, COMP_CWORD); what it offers is compared with the parser's
-- own lists (accelerate.cli.parser), and plan names come from a simulator.
-- zsh's and fish's scripts are checked by their shell when it is there.
-- The man page (make man) is rendered with man -l and must name every
-- command.
-- Run with busted --lua=lua5.4 (make test-pkg builds the page first).
local helpers = require "spec.helpers"
helpers.paths()

local parser = require "accelerate.cli.parser"
local quote = helpers.quote
local root = helpers.root
local args = parser

-- The script of a shell, as the command prints it (exit 0 asserted).
local function script_of(shell)
  local code, out = helpers.sh("cd " .. quote(root) .. " && lua5.4 bin/accelerate completion " .. shell .. " 2>&1")
  assert.equal(0, code, out)
  return out
end

local SCRIPT = os.tmpname()
do
  local f = assert(io.open(SCRIPT, "w"))
  f:write(script_of("bash"))
  f:close()
end

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
    assert.is_true(#all >= 12)
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
    -- a campaign subcommand's own options (and the global ones)
    assert.same(args.options("campaign", "run"), complete { "accelerate", "campaign", "run", "q1.json", "--" })
    assert.same({ "--no-calendar", "--no-color" }, complete { "accelerate", "campaign", "status", "j", "--no-" })
    assert.same({ "--journal", "--json" }, complete { "accelerate", "campaign", "run", "--j" })
  end)

  it("offers campaign's subcommands, and completion's shells", function()
    -- the dry run by its name; `plan`, its older name, is completed as it
    assert.same({ "preview", "run", "status" }, complete { "accelerate", "campaign", "" })
    assert.same({ "preview" }, complete { "accelerate", "campaign", "pr" })
    assert.same({ "--json" }, complete { "accelerate", "campaign", "plan", "q1.json", "--js" })
    assert.same({ "--json" }, complete { "accelerate", "campaign", "preview", "q1.json", "--js" })
    assert.same({ "run" }, complete { "accelerate", "--json", "campaign", "r" })
    assert.same({ "bash", "fish", "zsh" }, complete { "accelerate", "completion", "" })
  end)

  it("offers files where a file is wanted: campaign's SPEC and FILE, --journal, --metrics, --html, --config", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(helpers.run("mkdir -p " .. quote(dir) .. " && touch " .. quote(dir .. "/q1.json") .. " "
      .. quote(dir .. "/q1.journal") .. " " .. quote(dir .. "/other.txt")))
    local prefix = dir .. "/q1"
    local both = { prefix .. ".journal", prefix .. ".json" }
    assert.same(both, complete { "accelerate", "campaign", "run", prefix })
    assert.same(both, complete { "accelerate", "campaign", "preview", prefix })
    assert.same(both, complete { "accelerate", "campaign", "plan", prefix })
    assert.same(both, complete { "accelerate", "campaign", "status", prefix })
    assert.same(both, complete { "accelerate", "campaign", "run", "q.json", "--journal", prefix })
    assert.same(both, complete { "accelerate", "campaign", "run", "q.json", "--metrics", prefix })
    assert.same(both, complete { "accelerate", "report", "D", "--html", prefix })
    assert.same(both, complete { "accelerate", "--config", prefix })
    -- not where a dagName or a date is wanted
    assert.same({}, complete { "accelerate", "wait", prefix })
    assert.same({}, complete { "accelerate", "lots", prefix })
    helpers.run("rm -rf " .. quote(dir))
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
      return "HOME=/nonexistent/accelerate-spec-home XDG_CONFIG_HOME=/nonexistent/accelerate-spec-home ACCELERATE_URL=" .. quote(url)
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
      assert.same({}, complete({ BIN, "plan", "" }, "HOME=/nonexistent/accelerate-spec-home XDG_CONFIG_HOME=/nonexistent/accelerate-spec-home"))
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

describe("accelerate completion bash|zsh|fish", function()
  -- A shell's syntax check of the script: nil when the shell is not installed.
  local function check(shell, flag)
    if helpers.sh("command -v " .. shell .. " >/dev/null 2>&1") ~= 0 then return nil end
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(script_of(shell))
    f:close()
    local code, out = helpers.sh(shell .. " " .. flag .. " " .. quote(path) .. " 2>&1")
    os.remove(path)
    return code, out
  end

  it("prints a script its shell accepts (zsh and fish: when installed)", function()
    local code, out = check("bash", "-n")
    assert.equal(0, code, out)
    assert.matches("\ncomplete %-F _accelerate accelerate\n", script_of("bash"))
    assert.matches("#compdef accelerate", script_of("zsh"), 1, true)
    assert.matches("complete %-c accelerate", script_of("fish"))
    for _, shell in ipairs { { "zsh", "-n" }, { "fish", "--no-execute" } } do
      local c, o = check(shell[1], shell[2])
      if c ~= nil then assert.equal(0, c, o) end
    end
  end)

  it("names every command and option in zsh's and fish's scripts", function()
    for _, shell in ipairs { "zsh", "fish" } do
      local text = script_of(shell)
      for _, c in ipairs(parser.commands()) do assert.matches(c, text, 1, true) end
      for _, o in ipairs(parser.options("campaign", "run")) do
        assert.matches(shell == "fish" and ("-l " .. o:sub(3)) or o, text, 1, true)
      end
    end
  end)

  it("refuses another shell (exit 2)", function()
    local code, out = helpers.sh("cd " .. quote(root) .. " && lua5.4 bin/accelerate completion tcsh 2>&1")
    assert.equal(2, code)
    assert.matches("must be one of 'bash', 'zsh', 'fish'", out, 1, true)
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

  -- Issue 20 item 7: the command pages are preformatted and indented by
  -- 7 columns, so each --help line must leave room for that.
  it("fits 80 columns: MANWIDTH=80 man -l has no line over 80", function()
    local code, text = helpers.sh("MANWIDTH=80 man -l " .. quote(PAGE) .. " 2>&1 | col -bx")
    assert.equal(0, code, text)
    local long = {}
    for line in text:gmatch("[^\n]*") do
      local n = select(2, line:gsub("[^\128-\191]", ""))   -- characters, not bytes
      if n > 80 then long[#long + 1] = n .. ": " .. line end
    end
    assert.equal(0, #long, #long .. " lines over 80 columns:\n" .. table.concat(long, "\n"))
  end)
end)
