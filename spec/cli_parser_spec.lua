-- The command line on lua-argparse (accelerate.cli.parser) on its own:
-- option forms, options before the command word, the checks per command,
-- number options, and the usage errors with argparse's "did you mean";
-- then, through cli.main, `help COMMAND` and the exit code of a usage error.
require("spec.helpers").paths()

local parser = require "accelerate.cli.parser"
local usage = require "accelerate.cli.usage"
local cli = require "accelerate.cli"

-- The options table of argv, which must parse.
local function parse(argv)
  local o, err = parser.parse(argv)
  assert.is_nil(err, table.concat(argv, " "))
  return o
end

-- The usage error message of argv, which must not parse.
local function refused(argv)
  local _, err = parser.parse(argv)
  assert.is_string(err, table.concat(argv, " ") .. " parsed")
  return err
end

-- cli.main with captured streams: code, stdout, stderr.
local function run(argv)
  local out, err = {}, {}
  local code = cli.main(argv, {
    stdout = { write = function(_, s) out[#out + 1] = s return true end, flush = function() return true end },
    stderr = { write = function(_, s) err[#err + 1] = s return true end, flush = function() return true end },
    getenv = function() return nil end, isatty = function() return false end,
  })
  return code, table.concat(out), table.concat(err)
end

describe("parser.parse", function()
  it("takes --name value, --name=value, flags, short flags and positional arguments", function()
    local o = parse { "wait", "dag-1", "--interval", "3", "--timeout=60", "--json", "-q", "-v" }
    assert.equal("wait", o.command)
    assert.same({ "dag-1" }, o.args)
    -- numbers declared as such are numbers
    assert.same({ interval = 3, timeout = 60 }, o.values)
    assert.same({ json = true, quiet = true, verbose = true }, o.flags)
  end)

  it("accepts global options and a command's options before the command word", function()
    local o = parse { "--url", "http://x", "--lot", "3", "lots", "2025-01-01", "2025-01-02" }
    assert.equal("lots", o.command)
    assert.same({ url = "http://x", lot = 3 }, o.values)
    assert.same({ "2025-01-01", "2025-01-02" }, o.args)
    o = parse { "--all", "instances", "dag-1" }
    assert.same({ all = true }, o.flags)
  end)

  it("reads everything after -- (and a lone -) as arguments", function()
    local o = parse { "detail", "--", "--json" }
    assert.same({ "--json" }, o.args)
    assert.same({}, o.flags)
    assert.same({ "-" }, parse({ "detail", "-" }).args)
  end)

  it("keeps an empty value and a value that looks like an option", function()
    assert.equal("", parse({ "wait", "--journal=" }).values.journal)
    assert.equal("--x", parse({ "wait", "--journal", "--x" }).values.journal)
  end)

  it("keeps every value of a repeatable option, the last one wins elsewhere", function()
    local o = parse { "instances", "d", "--status", "FAILED", "--status", "RUNNING" }
    assert.same({ "FAILED", "RUNNING" }, o.lists.status)
    assert.equal("RUNNING", o.values.status)
    assert.equal(5, parse({ "wait", "d", "--interval", "2", "--interval", "5" }).values.interval)
  end)

  it("gives campaign's subcommand as its first argument", function()
    local o = parse { "campaign", "run", "q1.json", "--journal", "j" }
    assert.same({ "run", "q1.json" }, o.args)
    assert.equal("j", o.values.journal)
    -- run's options may come before the subcommand word
    assert.same({ "run", "q1.json" }, parse({ "campaign", "--journal", "j", "run", "q1.json" }).args)
  end)

  it("reads `campaign plan`, the dry run's older name, as `campaign preview`", function()
    assert.same({ "preview", "q1.json" }, parse({ "campaign", "preview", "q1.json", "--json" }).args)
    assert.same({ "preview", "q1.json" }, parse({ "campaign", "plan", "q1.json", "--json" }).args)
    assert.same(parser.options("campaign", "preview"), parser.options("campaign", "plan"))
    assert.equal(parser.help("campaign", "preview"), parser.help("campaign", "plan"))
  end)

  it("refuses unknown options, a missing value and a value given to a flag", function()
    assert.matches("^unknown option %-x", refused { "-x" })
    assert.equal("unknown option --bogus", refused { "wait", "--bogus" })
    assert.equal("option --interval needs a value", refused { "wait", "--interval" })
    assert.equal("option --json takes no value", refused { "wait", "--json=1" })
  end)

  it("says which command an option of another command does not apply to", function()
    assert.equal("option --all does not apply to wait", refused { "--all", "wait", "dag-1" })
    assert.equal("option --all does not apply to wait", refused { "wait", "--all" })
    assert.equal("option --journal does not apply to campaign preview",
      refused { "campaign", "preview", "q.json", "--journal", "j" })
    -- the alias as typed
    assert.equal("option --journal does not apply to campaign plan",
      refused { "campaign", "plan", "q.json", "--journal", "j" })
  end)

  it("suggests the command or option meant (argparse's did you mean)", function()
    assert.equal("unknown command backfil; did you mean 'backfill'?", refused { "backfil" })
    assert.equal("unknown option --plann; did you mean '--plan'?", refused { "backfill", "--plann", "x" })
    assert.equal("unknown option --jounral; did you mean '--journal'?", refused { "wait", "--jounral", "j" })
    assert.equal("campaign takes preview SPEC, run SPEC --journal FILE or status FILE; did you mean 'run'?",
      refused { "campaign", "rn", "q.json" })
    assert.equal("campaign takes preview SPEC, run SPEC --journal FILE or status FILE", refused { "campaign" })
  end)

  it("checks the number of arguments of each command", function()
    local cases = {
      { { "detail" }, false }, { { "detail", "1" }, true }, { { "detail", "1", "2" }, false },
      { { "lots", "a" }, false }, { { "lots", "a", "b" }, true }, { { "lots", "a", "b", "3" }, true },
      { { "lots", "a", "b", "3", "4" }, false }, { { "wait" }, true }, { { "wait", "d" }, true },
      { { "backfill", "x" }, false }, { { "repair" }, false },
    }
    for _, c in ipairs(cases) do
      local _, err = parser.parse(c[1])
      if c[2] then
        assert.is_nil(err, table.concat(c[1], " "))
      else
        assert.matches("^wrong number of arguments for " .. c[1][1] .. " %(", err)
      end
    end
  end)

  it("takes --plan where a plan is named, and the plan commands' own options only there", function()
    local ok = {
      { "create", "--plan", "p" }, { "backfill", "--plan", "p", "--dry-run", "--force" },
      { "repair", "d", "--plan", "p" }, { "lots", "a", "b", "--plan", "p" }, { "create", "--force" },
      { "plans", "--type", "RESULT", "--no-details" }, { "plan", "sales_daily", "--json" },
    }
    for _, argv in ipairs(ok) do parse(argv) end
    local cases = {
      { { "--dry-run", "create" }, "option --dry-run does not apply to create" },
      { { "--type", "RESULT", "plan", "x" }, "option --type does not apply to plan" },
      { { "--plan", "p", "wait", "d" }, "option --plan does not apply to wait" },
    }
    for _, c in ipairs(cases) do assert.equal(c[2], refused(c[1])) end
    assert.matches("^wrong number of arguments for plans", refused { "plans", "x" })
    assert.matches("^wrong number of arguments for plan ", refused { "plan" })
  end)

  it("refuses what is not a number, below the minimum, or not whole when it must be", function()
    for _, v in ipairs { "x", "", "nan", "-1", "0x" } do
      assert.equal("--timeout must be a number >= 0", refused { "wait", "d", "--timeout", v }, v)
    end
    assert.equal("--interval must be a number > 0", refused { "wait", "d", "--interval", "0" })
    assert.equal("--lot must be a whole number >= 1", refused { "create", "--lot", "1.5" })
    assert.equal("--lot must be a whole number >= 1", refused { "create", "--lot", "0" })
    assert.equal("N (days per lot) must be a whole number >= 1", refused { "lots", "a", "b", "0" })
    assert.equal(2.5, parse({ "wait", "d", "--interval", "2.5" }).values.interval)
  end)
end)

describe("usage.number", function()
  local function o(v) return { command = "wait", values = { interval = v } } end
  local function err_of(...)
    local ok, e = pcall(usage.number, ...)
    assert.is_false(ok)
    assert.equal("usage", e.kind)
    return e
  end

  it("reads a number given as text by a caller that built o itself", function()
    assert.is_nil(usage.number(o(nil), "interval", 0))
    assert.equal(2.5, usage.number(o("2.5"), "interval", 0))
    assert.equal(3, usage.number(o(3), "interval", 1, true))
    assert.equal("--interval must be a whole number >= 1", err_of(o("1.5"), "interval", 1, true).message)
    assert.equal("wait", err_of(o("x"), "interval", 0).command)
  end)
end)

describe("parser.command_of and the command list", function()
  it("finds the command word even where parsing failed", function()
    assert.equal("wait", (parser.command_of { "--bogus", "wait", "dag-1" }))
    assert.is_nil((parser.command_of { "--json", "frobnicate" }))
    assert.is_truthy(parser.module("repair"))
    assert.is_nil(parser.module("help"))
    assert.same({ "backfill", "campaign", "completion", "create", "detail", "instances", "lots", "plan", "plans",
      "repair", "report", "wait" }, parser.commands())
  end)
end)

describe("cli.main: usage errors and help", function()
  it("exits 2 with did you mean for a mistyped command or option, pointing at --help", function()
    local code, out, err = run { "backfil" }
    assert.equal(2, code)
    assert.equal("", out)
    assert.equal("accelerate: unknown command backfil; did you mean 'backfill'?\nTry `accelerate --help`.\n", err)
    local code2, _, err2 = run { "backfill", "--plann", "x" }
    assert.equal(2, code2)
    assert.equal("accelerate: unknown option --plann; did you mean '--plan'?\n"
      .. "Try `accelerate backfill --help`.\n", err2)
  end)

  it("keeps the --json error object of a usage error", function()
    local code, out = run { "backfill", "--plann", "x", "--json" }
    assert.equal(2, code)
    local decoded = require("cjson").decode(out)
    assert.same({ error = { kind = "usage", message = "unknown option --plann; did you mean '--plan'?" }, exit = 2 },
      decoded)
  end)

  it("`help COMMAND` prints the command's page, as `COMMAND --help` does, even without its arguments", function()
    for _, c in ipairs(parser.commands()) do
      local code, out = run { "help", c }
      local code2, out2 = run { c, "--help" }
      assert.equal(0, code, c)
      assert.equal(0, code2, c)
      assert.equal(out2, out, c)
      assert.matches("^usage: accelerate " .. c, out)
    end
    local code, out, err = run { "help", "wiat" }
    assert.equal(2, code)
    assert.equal("", out)
    assert.matches("unknown command wiat; did you mean 'wait'?", err, 1, true)
  end)

  it("prints the main page on stderr without a command (exit 2), on stdout with --help", function()
    local code, out, err = run {}
    assert.equal(2, code)
    assert.equal("", out)
    assert.matches("^usage: accelerate %[options%] <command>", err)
    code, out = run { "--help" }
    assert.equal(0, code)
    assert.matches("\nCommands:\n  backfill ", out)
    assert.matches("\n  %-%-color ", out)
  end)
end)
