-- Inputs found by the fuzzers (fuzz/decode_fuzz.c, fuzz/prepare_fuzz.c,
-- fuzz/reduce_fuzz.c)
-- that crashed, hung or broke a documented promise, replayed through the
-- Lua interface on every interpreter.  Each input is also kept in
-- fuzz/corpus/ under a regress-* name.  Runs on Lua 5.1-5.4 and LuaJIT.
local accelerate = require "accelerate"

local function is_error(res, err, kind)
    assert.is_nil(res)
    assert.is_table(err)
    assert.equal(kind, err.kind)
    assert.is_string(tostring(err))
end

describe("accelerate fuzz regressions", function()
    -- fuzz/corpus/decode/regress-redact-nul-secret-timeout: an auth_value
    -- starting with a NUL byte is an empty C string, and the redaction
    -- replaced that empty pattern forever (luaL_gsub never advanced): the
    -- call hung, growing its buffer until memory ran out.
    describe("redaction with an auth value holding NUL bytes", function()
        it("replays the fuzzer's input (detail, 200, no headers, no body)", function()
            local secret = string.rep("\0", 98) .. "\t\r\3 "
            local res, err = accelerate.decode("task_detail", 200, nil, nil, { auth_value = secret })
            is_error(res, err, "decode")
            assert.matches("empty response body", err.message)
        end)

        it("returns for every error kind and keeps the message", function()
            for _, secret in ipairs { "\0\0\0", "\0abc", "abc\0", "ab\0cd" } do
                local cfg = { auth_value = secret }
                local res, err = accelerate.decode("list_instances", 500, { ["X-Trace-Id"] = "t-1" },
                    '{"success":false,"code":"500","errorMsg":"abc failed","detailErrorMsg":"abc"}', cfg)
                is_error(res, err, "http")
                assert.equal("HTTP 500: abc failed", err.message)
                assert.equal("t-1", err.trace_id)
                res, err = accelerate.decode("create_task", 200, nil, '{"success":false,"errorMsg":"x"}', cfg)
                is_error(res, err, "api")
                res, err = accelerate.decode("task_detail", 200, nil, "<html>", cfg)
                is_error(res, err, "decode")
            end
        end)

    end)

    describe("redaction and the length of error fields", function()
        -- fuzz/corpus/decode/regress-redact-grows-message: redaction ran
        -- after the message was capped, and "[REDACTED]" is longer than a
        -- short secret, so a body full of it gave a message of ~400 bytes
        -- (documented: one line of at most ~300).
        it("keeps a redacted message within its cap (the fuzzer's input)", function()
            local body = "\"abcabcabcr\"abcabcabc\209\255\"abcabc\"0,\"c abc\10\13\10\"abcabcr\"abcabc\"cabcabccabcr"
                .. "\"abcabcabc\209\255\"abcabc\"0,\"c abc\10\13\10\"abcabcr\"abcabc\"cabcabc}"
            local res, err = accelerate.decode("list_instances", 500, { ["X-Trace-Id"] = "odecaiab abcabc1" }, body,
                { auth_value = "abc" })
            is_error(res, err, "http")
            assert.is_true(#err.message <= 303, "message of " .. #err.message .. " bytes")
            assert.is_nil(err.message:find("abc", 1, true))
            assert.equal("odecaiab [REDACTED][REDACTED]1", err.trace_id)
        end)

        it("keeps message and detail within their caps after redaction", function()
            local msg = string.rep("abc", 100)
            local res, err = accelerate.decode("task_detail", 200, nil,
                '{"success":false,"code":"E1","errorMsg":"' .. msg .. '","detailErrorMsg":"'
                .. string.rep("abc", 3000) .. '"}', { auth_value = "abc" })
            is_error(res, err, "api")
            assert.is_true(#err.message <= 303, "message of " .. #err.message .. " bytes")
            assert.is_true(#err.detail <= 8192 + 3, "detail of " .. #err.detail .. " bytes")
            assert.matches("^%[REDACTED%]%[REDACTED%]", err.message)
            assert.matches("%.%.%.$", err.message)
            assert.is_nil(err.message:find("abc", 1, true))
            assert.is_nil(err.detail:find("abc", 1, true))
        end)

        it("still redacts a plain auth value", function()
            local res, err = accelerate.decode("list_instances", 500, nil,
                '{"errorMsg":"bad auth-value u-secret-1","detailErrorMsg":"u-secret-1\\nat x"}',
                { auth_value = "u-secret-1" })
            is_error(res, err, "http")
            assert.equal("HTTP 500: bad auth-value [REDACTED]", err.message)
            assert.equal("[REDACTED]\nat x", err.detail)
        end)
    end)

    -- fuzz/reduce_fuzz.c: the reducer (yajl) read what lua-cjson refuses,
    -- or read it otherwise.  Each input replayed as the fuzzer does: the
    -- reducer and the full decoder (then the store's own reduction of the
    -- tables) must agree.
    describe("the reducer against the decoder", function()
        local FAILED = { FAILED = true, KILLED = true, TIMEOUT = true }
        local function all(store)
            local out = {}
            for inst in store:each() do out[#out + 1] = inst end
            return out
        end
        local function replay(name)
            local f = assert(io.open("fuzz/corpus/reduce/" .. name, "rb"))
            local text = f:read("*a")
            f:close()
            local first, body = text:match("^([^\n]*)\n(.*)$")
            local status, full = tonumber(first:match("^%d+")), first:find("full", 1, true) ~= nil
            local r = accelerate.store { failed = FAILED, full = full }
            r:expect(1, "append")
            local res, err = accelerate.reduce(r, status, {}, body)
            local page, derr = accelerate.decode("list_instances", status, {}, body)
            if not page then
                is_error(res, err, derr.kind)
                assert.equal(derr.message, err.message)
                assert.equal(0, #r)
                return
            end
            assert.is_table(res, tostring(err))
            local d = accelerate.store { failed = FAILED, full = full }
            d:expect(1, "append")
            local dres = d:add(page)
            assert.same({ dres.count, dres.fresh, tonumber(dres.total) }, { res.count, res.fresh, tonumber(res.total) })
            assert.same({ d:counts() }, { r:counts() })
            assert.same(all(d), all(r))
            assert.same(d:failures(), r:failures())
        end

        -- yajl takes a vertical tab for a blank
        it("refuses a \\v between members", function() replay("regress-vertical-tab") end)
        -- yajl takes an unfinished string after the top-level value for more to come
        it("refuses a lone quote after the object", function() replay("regress-trailing-quote") end)
        -- an empty id is an id (it was read as none)
        it("keeps an empty id", function()
            replay("regress-empty-id")
            replay("regress-empty-id-envelope")
        end)
        -- a number id longer than 63 digits was cut before strtod
        it("reads a number id of any length as the decoder does", function() replay("regress-long-number-id") end)
        it("agrees on the seeds", function()
            for _, name in ipairs { "bare", "envelope_full", "escapes", "http503", "not_objects", "nulls", "refused",
                "repeated_key" } do
                replay(name)
            end
        end)
    end)

    describe("ids", function()
        -- An id the JSON library can only read as a huge double was cut to
        -- the first 63 digits of %.0f: a wrong id, silently.
        it("never cuts the digits of an absurdly large numeric id", function()
            local page = assert(accelerate.decode("list_instances", 200, nil,
                '{"dagName":"d","total":1,"instances":[{"id":1e200,"status":"SUCCESS"}]}'))
            local id = page.instances[1].id
            assert.is_string(id)
            assert.equal(1e200, tonumber(id))
        end)
    end)
end)
