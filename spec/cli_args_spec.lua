-- The command line parser (accelerate.cli.args) on its own: option forms,
-- options before the command word, the checks per command, number options.
require("spec.helpers").paths()

local args = require "accelerate.cli.args"

-- The usage error args raises for argv, or nil when it parses.
local function usage_error(fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then return nil end
  assert.equal("usage", err.kind)
  assert.equal(err.message, tostring(err))
  return err
end

describe("args.parse", function()
  it("takes --name value, --name=value, flags, short flags and positional arguments", function()
    local o = args.parse { "wait", "dag-1", "--interval", "3", "--timeout=60", "--json", "-q", "-v" }
    assert.equal("wait", o.command)
    assert.same({ "dag-1" }, o.args)
    assert.same({ interval = "3", timeout = "60" }, o.values)
    assert.same({ json = true, quiet = true, verbose = true }, o.flags)
  end)

  it("accepts global options and a command's options before the command word", function()
    local o = args.parse { "--url", "http://x", "--lot", "3", "--all", "lots", "2025-01-01", "2025-01-02" }
    assert.equal("lots", o.command)
    assert.same({ url = "http://x", lot = "3" }, o.values)
    assert.same({ all = true }, o.flags)
  end)

  it("reads everything after -- (and a lone -) as arguments", function()
    local o = args.parse { "detail", "--", "--json", "-q" }
    assert.same({ "--json", "-q" }, o.args)
    assert.same({}, o.flags)
    assert.same({ "-" }, args.parse({ "detail", "-" }).args)
  end)

  it("keeps an empty value and a value that looks like an option", function()
    assert.equal("", args.parse({ "wait", "--journal=" }).values.journal)
    assert.equal("--x", args.parse({ "wait", "--journal", "--x" }).values.journal)
  end)

  it("refuses unknown options, a missing value and a value given to a flag", function()
    assert.matches("unknown option %-x", usage_error(args.parse, { "-x" }).message)
    local err = usage_error(args.parse, { "wait", "--bogus" })
    assert.equal("unknown option --bogus", err.message)
    assert.equal("wait", err.command)
    assert.equal("option --interval needs a value", usage_error(args.parse, { "wait", "--interval" }).message)
    assert.equal("option --json takes no value", usage_error(args.parse, { "wait", "--json=1" }).message)
    -- another command's option after the command word is unknown to it
    assert.equal("unknown option --all", usage_error(args.parse, { "wait", "--all" }).message)
  end)
end)

describe("args.check", function()
  it("refuses an option of another command given before the command word", function()
    local err = usage_error(args.check, args.parse { "--all", "wait", "dag-1" })
    assert.equal("option --all does not apply to wait", err.message)
    assert.equal("wait", err.command)
    assert.is_nil(usage_error(args.check, args.parse { "--all", "instances", "dag-1" }))
  end)

  it("checks the number of arguments of each command", function()
    local cases = {
      { { "detail" }, false }, { { "detail", "1" }, true }, { { "detail", "1", "2" }, false },
      { { "lots", "a" }, false }, { { "lots", "a", "b" }, true }, { { "lots", "a", "b", "3" }, true },
      { { "lots", "a", "b", "3", "4" }, false }, { { "wait" }, true }, { { "wait", "d" }, true },
      { { "backfill", "x" }, false }, { { "repair" }, false },
    }
    for _, c in ipairs(cases) do
      local err = usage_error(args.check, args.parse(c[1]))
      if c[2] then
        assert.is_nil(err, table.concat(c[1], " "))
      else
        assert.equal("wrong number of arguments for " .. c[1][1], err.message)
      end
    end
  end)
end)

describe("args.check: the plan options", function()
  it("takes --plan where a plan is named, and the plan commands' own options only there", function()
    local ok = {
      { "create", "--plan", "p" }, { "backfill", "--plan", "p", "--dry-run", "--force" },
      { "repair", "d", "--plan", "p" }, { "lots", "a", "b", "--plan", "p" }, { "create", "--force" },
      { "plans", "--type", "RESULT", "--no-details" }, { "plan", "sales_daily", "--json" },
    }
    for _, argv in ipairs(ok) do assert.is_nil(usage_error(args.check, args.parse(argv)), table.concat(argv, " ")) end
    local refused = {
      { { "--dry-run", "create" }, "option --dry-run does not apply to create" },
      { { "--type", "RESULT", "plan", "x" }, "option --type does not apply to plan" },
      { { "--plan", "p", "wait", "d" }, "option --plan does not apply to wait" },
      { { "plans", "x" }, "wrong number of arguments for plans" },
      { { "plan" }, "wrong number of arguments for plan" },
    }
    for _, c in ipairs(refused) do
      assert.equal(c[2], usage_error(args.check, args.parse(c[1])).message)
    end
  end)
end)

describe("args.number", function()
  local function o(v) return { command = "wait", values = { interval = v } } end

  it("gives nil when the option is absent, the number otherwise", function()
    assert.is_nil(args.number(o(nil), "interval", 0))
    assert.equal(2.5, args.number(o("2.5"), "interval", 0))
    assert.equal(0, args.number(o("0"), "interval", 0))
    assert.equal(3, args.number(o("3"), "interval", 1, true))
  end)

  it("refuses what is not a number, below the minimum, or not whole when it must be", function()
    for _, v in ipairs { "x", "", "nan", "-1", "0x" } do
      assert.equal("--interval must be a number >= 0", usage_error(args.number, o(v), "interval", 0).message, v)
    end
    assert.equal("--interval must be a whole number >= 1", usage_error(args.number, o("1.5"), "interval", 1, true).message)
    assert.equal("--interval must be a whole number >= 1", usage_error(args.number, o("0"), "interval", 1, true).message)
    assert.equal("wait", usage_error(args.number, o("x"), "interval", 0).command)
  end)
end)

describe("args.command_of and args.is_command", function()
  it("finds the command word even where parsing failed", function()
    assert.equal("wait", args.command_of { "--bogus", "wait", "dag-1" })
    assert.is_nil(args.command_of { "--json", "frobnicate" })
    assert.is_true(args.is_command("repair"))
    assert.is_false(args.is_command("help"))
  end)
end)
