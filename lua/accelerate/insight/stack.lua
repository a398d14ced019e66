-- The one reader of a JVM-style error message (a Spark or JDBC stack as an
-- instance's detail carries it): its blocks (the exception line and each
-- "Caused by:", each with the lines continuing it before the next frame),
-- and what is read from them: a stable signature of the failure, a title
-- naming its root cause, and the few lines a person reads first.

local type = type
local floor = math.floor
local str_find = string.find
local str_gsub = string.gsub
local str_sub = string.sub
local str_match = string.match
local tbl_concat = table.concat

local _M = {}

local SIGNATURE_MAX = 300
local TITLE_MAX = 200
local ROOT_LINES = 2
local NO_MESSAGE = "(no error message)"

local function is_frame(line)
  return str_find(line, "^at%s") ~= nil or str_find(line, "^%.%.%.%s*%d+%s+more") ~= nil
end

-- syntax: blocks = stack.blocks(msg [, lines])
-- The exception line and each "Caused by:" (the prefix dropped), each with
-- the lines that continue it before the next frame or blank line, up to
-- `lines` lines a block (default 2).
function _M.blocks(msg, per_block)
  per_block = per_block or ROOT_LINES
  local out, cur = {}, nil
  for line in (msg .. "\n"):gmatch("([^\n]*)\n") do
    line = str_match(line, "^%s*(.-)%s*$")
    if line == "" or is_frame(line) then
      cur = nil
    elseif str_find(line, "^Caused by:") or not cur and #out == 0 then
      cur = { (str_gsub(line, "^Caused by:%s*", "")) }
      out[#out + 1] = cur
    elseif cur and #cur < per_block then
      cur[#cur + 1] = line
    end
  end
  return out
end
local blocks = _M.blocks

-- The first lines of the root cause (the last "Caused by:" wins).
local function root_lines(msg)
  if type(msg) ~= "string" then return nil end
  local b = blocks(msg)
  return b[#b]
end
_M.root_lines = root_lines

-- Names that differ from one instance to the next: a dotted name whose
-- last part starts in lower case (a table, a host) is a name; one whose
-- last part starts in upper case is a Java class and stays.
local function dotted(token)
  local body, dots = str_match(token, "^(.-)(%.*)$")
  if not str_find(body, ".", 1, true) then return nil end
  local last = str_match(body, "([^%.]*)$")
  if str_find(last, "^%u") then return nil end
  return "<name>" .. dots
end

local function normalise(text)
  local s = " " .. text .. " "
  s = str_gsub(s, "%x+%-%x+%-%x+%-%x+%-%x+", "<id>")
  s = str_gsub(s, "%f[%d]%d+%.%d+%.%d+%.%d+%f[%D]", "<name>")   -- an IPv4 host, as a host name
  s = str_gsub(s, "([%s%(=,:])'[^'\n]*'", "%1'?'")
  s = str_gsub(s, '"[^"\n]*"', '"?"')
  s = str_gsub(s, "`[^`\n]*`", "`?`")
  s = str_gsub(s, "%b[]", "[?]")
  s = str_gsub(s, "[%a_][%w_%-%.$]*", dotted)
  s = str_gsub(s, "%f[%w](%x+)%f[%W]", function(h)
    if #h >= 8 and str_find(h, "%d") and str_find(h, "%a") then return "<id>" end
  end)
  s = str_gsub(s, "%d+", "#")
  s = str_gsub(s, "%s+", " ")
  return str_match(s, "^%s*(.-)%s*$")
end

-- syntax: key = stack.signature(msg)
-- The root cause's first lines with numbers, dates, ids, hosts, table and
-- partition names, quoted names and stage/task/TID counters made generic:
-- the same failure on another day, host or table has the same key.
function _M.signature(msg)
  local lines = root_lines(msg)
  if not lines or #lines == 0 then return NO_MESSAGE end
  local s = normalise(tbl_concat(lines, " "))
  if #s > SIGNATURE_MAX then s = str_sub(s, 1, SIGNATURE_MAX) end
  return s
end

-- syntax: s = stack.clip(s, n)
-- s in at most n characters, both ends kept: a JVM cause line ends with
-- the real error ("... most recent failure: ...: java.lang.OutOfMemoryError").
local function clip(s, n)
  if #s <= n then return s end
  local tail = floor(n * 0.4)
  return str_sub(s, 1, n - tail - 5) .. " ... " .. str_sub(s, -tail)
end
_M.clip = clip

-- syntax: line = stack.title(msg)
-- The root cause in one line: from the last exception named in it, by
-- its class's simple name ("OutOfMemoryError: Java heap space" out of
-- Spark's "Job aborted ...: java.lang.OutOfMemoryError: Java heap space").
function _M.title(msg)
  local lines = root_lines(msg)
  if not lines or #lines == 0 then return NO_MESSAGE end
  local line = lines[1]
  local at
  for pos, name in line:gmatch("()([%a_][%w_%.$]*)") do
    if str_find(name, "Exception$") or str_find(name, "Error$") then
      local after = str_sub(line, pos + #name, pos + #name)
      if after == ":" or after == "" then at = pos end
    end
  end
  if at then line = str_gsub(str_sub(line, at), "^[%w_$]+%.[%w_%.$]-([%w_$]+:)", "%1") end
  return clip(line, TITLE_MAX)
end

-- syntax: lines = stack.first_lines(msg [, limit])
-- What a person reads first, in at most limit (3) lines of at most 200
-- characters: the exception line and the lines continuing it, then the
-- root cause ("Caused by: ..."), without frames.
function _M.first_lines(msg, limit)
  limit = limit or 3
  if type(msg) ~= "string" or msg == "" then return { NO_MESSAGE } end
  local b = blocks(msg, limit)
  local lines = {}
  for i = 1, b[1] and #b[1] or 0 do lines[i] = b[1][i] end
  if #b > 1 then
    if #lines >= limit then lines[limit] = nil end
    lines[#lines + 1] = "Caused by: " .. b[#b][1]
  end
  if #lines == 0 then return { NO_MESSAGE } end
  for i = 1, #lines do lines[i] = clip(lines[i], TITLE_MAX) end
  return lines
end

return _M
