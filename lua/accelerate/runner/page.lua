-- The runner's live page (GET P): one self-contained HTML document under a
-- strict Content-Security-Policy (nothing from the network but its own
-- fragment URL; no inline style attribute, no event handler), whose script
-- polls P?fragment=1 every second and puts the answer in place, keeping
-- the <details> a person opened.  The fragment shows every campaign: its
-- state, counts and ETA, a plan x period grid with a cell per task
-- coloured by state (cli/campaign_view.lua's layout, the text grid's), and
-- its failures by cause (render/html.lua's, the report's).  Pure Lua, no
-- ngx: runner/http.lua calls it; every string a server sent is escaped.

local util = require "accelerate.util"
local status = require "accelerate.statuses"
local render_html = require "accelerate.render.html"
local view = require "accelerate.cli.campaign_view"
local assets = require "accelerate.runner.page_assets"

local type = type
local ipairs = ipairs
local tonumber = tonumber
local tostring = tostring
local floor = math.floor
local io_open = io.open
local os_date = os.date
local str_byte = string.byte
local str_find = string.find
local str_format = string.format
local str_gsub = string.gsub
local tbl_concat = table.concat
local esc = render_html.escape
local format_duration = util.format_duration
local number_string = util.number_string

local _M = {}

-- The query string of the fragment the page polls (GET P?fragment=1), and
-- how often it polls, in milliseconds.
_M.FRAGMENT_QUERY = "fragment=1"
_M.INTERVAL_MS = 1000

-- The task states a cell shows (data-state), and the campaign states.
local TASK_STATES = { pending = true, running = true, succeeded = true, failed = true }
local CAMPAIGN_STATES = { pending = true, running = true, succeeded = true, failed = true, stopped = true,
  needs_attention = true }
local MONTHS_MAX = 36   -- a longer campaign's grid has a column per year

local CSS, SCRIPT = assets.CSS, assets.SCRIPT

-- A nonce is base64 (RFC 4648, either alphabet), at least 16 characters.
local function check_nonce(nonce)
  if type(nonce) ~= "string" or #nonce < 16 or not str_find(nonce, "^[%w+/_%-]+=*$") then
    return nil, "the page's nonce must be at least 16 base64 characters"
  end
  return nonce
end

-- syntax: nonce = page.nonce()
-- 18 bytes of /dev/urandom in base64url (24 characters), for one answer
-- of the page: its <style> and <script> carry it, and page.csp names it.
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
function _M.nonce()
  local f, err = io_open("/dev/urandom", "rb")
  if not f then return nil, err end
  local raw = f:read(18)
  f:close()
  if not raw or #raw ~= 18 then return nil, "short read from /dev/urandom" end
  local out = {}
  for i = 1, 18, 3 do
    local a, b, c = str_byte(raw, i, i + 2)
    local n = a * 65536 + b * 256 + c
    for shift = 3, 0, -1 do
      local v = floor(n / 64 ^ shift) % 64
      out[#out + 1] = B64:sub(v + 1, v + 1)
    end
  end
  return tbl_concat(out)
end

-- syntax: value = page.csp(nonce)
-- The Content-Security-Policy header of the page: its own nonce'd style
-- and script, fetches to its own origin, data: images (the icon), and
-- nothing else; no framing, no <base>, no form.  (frame-ancestors only
-- works in a header, so the policy is not repeated in a <meta>.)
function _M.csp(nonce)
  local n, err = check_nonce(nonce)
  if not n then return nil, err end
  return "default-src 'none'; script-src 'nonce-" .. n .. "'; style-src 'nonce-" .. n .. "'; "
    .. "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
end

-- syntax: url = page.fragment_url(prefix)
function _M.fragment_url(prefix)
  return tostring(prefix) .. "?" .. _M.FRAGMENT_QUERY
end

-- syntax: html = page.document(prefix, nonce [, opts])
-- The page: its style, an empty container (or opts.fragment, a first
-- page.fragment to show before the first poll), and its script, which
-- fetches page.fragment_url(prefix) every opts.interval_ms (1000; at
-- least 200).  Serve
-- it with the header page.csp(nonce), Content-Type text/html.
function _M.document(prefix, nonce, opts)
  local n, err = check_nonce(nonce)
  if not n then return nil, err end
  opts = opts or {}
  local every = tonumber(opts.interval_ms) or _M.INTERVAL_MS
  if every ~= every or every < 200 then every = 200 end   -- never a flood of fetches
  return tbl_concat({
    '<!DOCTYPE html>\n<html lang="en" data-fragment="' .. esc(_M.fragment_url(prefix)) .. '" data-interval="'
      .. floor(every) .. '"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    '<meta name="referrer" content="no-referrer">',
    '<link rel="icon" href="data:,">',
    "<title>accelerate: campaigns</title>",
    '<style nonce="' .. n .. '">' .. render_html.CSS .. CSS .. "</style></head><body>",
    '<header class="top"><h1>Campaigns</h1><span class="muted" id="updated">connecting&hellip;</span>'
      .. '<span class="conn" id="conn" role="status" hidden></span></header>',
    '<main id="campaigns">' .. (opts.fragment or "") .. "</main>",
    '<script nonce="' .. n .. '">' .. SCRIPT .. "</script></body></html>\n",
  }, "\n")
end

-- A value as text: integral numbers without ".0" (JSON decoded on 5.3+).
local function word(v)
  if type(v) == "number" then return number_string(v) end
  return tostring(v)
end

local function int(v)
  v = tonumber(v)
  if not v or v ~= v then return 0 end
  return v
end

-- The instances as one bar: a segment per status, widths in a viewBox
-- (attributes, not style, which the policy refuses).
local function bar(c, total)
  total = int(total)
  local out = { '<svg class="bar" viewBox="0 0 1000 8" preserveAspectRatio="none" role="img" aria-label="instances">',
    '<rect class="q0" x="0" y="0" width="1000" height="8"/>' }
  if total > 0 then
    local x = 0
    for _, k in ipairs(status.STATUS_ORDER) do
      local w = int(c[k]) / total * 1000
      if w > 0 then
        out[#out + 1] = str_format('<rect class="c-%s" x="%.1f" y="0" width="%.1f" height="8"/>', k, x, w)
        x = x + w
      end
    end
  end
  out[#out + 1] = "</svg>"
  return tbl_concat(out)
end

local function eta_text(c)
  local e = tonumber(c.eta)
  if e and e >= 0 then return "ETA " .. format_duration(e) end
  if c.state == "running" or c.state == "pending" then return "ETA unknown yet" end
  return nil
end

-- Instance counts by status, numbers only (an object decoded from JSON).
local function counts_of(c)
  local out = {}
  if type(c) == "table" then
    for _, k in ipairs(status.STATUS_ORDER) do out[k] = int(c[k]) end
  end
  return out
end

local function facts(c)
  local s = type(c.states) == "table" and c.states or {}
  local n = type(c.tasks) == "table" and #c.tasks or int(c.tasks)
  local counts = counts_of(c.counts)
  local out = {
    str_format("<span><b>%s</b> task%s: %s succeeded, %s failed, %s running, %s pending</span>",
      number_string(n), n == 1 and "" or "s", number_string(int(s.succeeded)), number_string(int(s.failed)),
      number_string(int(s.running)), number_string(int(s.pending))),
    "<span>" .. esc(view.counts(counts, c.total and int(c.total) or nil)) .. " instances</span>",
  }
  local e = eta_text(c)
  if e then out[#out + 1] = "<span><b>" .. esc(e) .. "</b></span>" end
  if tonumber(c.elapsed) then out[#out + 1] = "<span>elapsed " .. esc(format_duration(c.elapsed)) .. "</span>" end
  local t = tonumber(c.created_at)
  if t then out[#out + 1] = "<span>started " .. esc(os_date("!%Y-%m-%d %H:%M UTC", floor(t))) .. "</span>" end
  return '<div class="facts">' .. tbl_concat(out) .. "</div>" .. bar(counts, c.total)
end

local function task_cell(t)
  local st = TASK_STATES[t.state] and t.state or "unknown"
  local title = str_format("task %s: %s %s\n%s: %s", word(t.task), tostring(t.plan), view.range(t),
    tostring(t.state), view.counts(counts_of(t.counts), t.total and int(t.total) or nil))
  if t.dagName then title = title .. "\nbackfill " .. tostring(t.dagName) end
  if type(t.repairs) == "table" and #t.repairs > 0 then title = title .. "\nrepairs: " .. #t.repairs end
  return str_format('<span class="task s-%s" data-task="%s" data-state="%s" title="%s"></span>', st,
    esc(word(t.task)), esc(t.state), esc(title))
end

-- The plan x period grid: a row per plan, a column per month (per year
-- for a long campaign); a cell per task, in the period it starts, and a
-- thin bar in the periods it goes on into.
local function grid(tasks)
  local ok = {}
  for _, t in ipairs(tasks) do
    if type(t) == "table" then
      ok[#ok + 1] = { task = t.task, plan = tostring(t.plan or "?"), planId = t.planId, state = t.state,
        startTime = t.startTime, endTime = t.endTime, dagName = t.dagName, counts = t.counts, total = t.total,
        repairs = t.repairs }
    end
  end
  local l = view.layout(ok)
  if #l.periods > MONTHS_MAX then l = view.layout(ok, "year") end
  if #l.periods == 0 then return "" end
  local yearly = l.periods[1].m == nil
  local head = { "<thead>" }
  if not yearly then
    local row, i = { '<tr><th></th>' }, 1
    while i <= #l.periods do
      local j = i
      while j < #l.periods and l.periods[j + 1].y == l.periods[i].y do j = j + 1 end
      row[#row + 1] = str_format('<th class="yr" colspan="%d">%d</th>', j - i + 1, l.periods[i].y)
      i = j + 1
    end
    head[#head + 1] = tbl_concat(row) .. "</tr>"
  end
  local row = { '<tr><th></th>' }
  for _, p in ipairs(l.periods) do
    row[#row + 1] = "<th>" .. (yearly and str_format("%d", p.y) or view.MONTHS[p.m]) .. "</th>"
  end
  head[#head + 1] = tbl_concat(row) .. "</tr></thead>"
  local body = { "<tbody>" }
  for _, plan in ipairs(l.plans) do
    local cells = { '<tr><th class="plan" title="' .. esc(plan) .. '">' .. esc(plan) .. "</th>" }
    for i = 1, #l.periods do
      local cell, parts = l.rows[plan][i], {}
      if cell then
        for _, t in ipairs(cell.starts) do parts[#parts + 1] = task_cell(t) end
        if #parts == 0 then
          parts[1] = '<span class="cont s-' .. (TASK_STATES[cell.state] and cell.state or "unknown") .. '"></span>'
        end
      end
      cells[#cells + 1] = "<td>" .. tbl_concat(parts) .. "</td>"
    end
    body[#body + 1] = tbl_concat(cells) .. "</tr>"
  end
  body[#body + 1] = "</tbody>"
  return '<div class="scroll grid-box"><table class="grid">' .. tbl_concat(head) .. tbl_concat(body) .. "</table></div>"
end

local LEGEND = '<p class="legend"><span><i class="task s-succeeded"></i>succeeded</span><span><i class="task '
  .. 's-failed"></i>failed</span><span><i class="task s-running"></i>running</span><span><i class="task '
  .. 's-pending"></i>not created yet</span></p>'

-- The backfills a group's instances are in: each task's dagName whose
-- failed list holds one of them.
local function dags_by_instance(tasks)
  local by = {}
  for _, t in ipairs(tasks) do
    if type(t) == "table" and type(t.failed) == "table" and t.dagName then
      for _, id in ipairs(t.failed) do by[tostring(id)] = tostring(t.dagName) end
    end
  end
  return function(g)
    local seen, out = {}, {}
    for _, id in ipairs(type(g.instances) == "table" and g.instances or {}) do
      local d = by[tostring(id)]
      if d and not seen[d] then
        seen[d] = true
        out[#out + 1] = d
      end
    end
    return out
  end
end

-- A group as insight.failures gives it, with every field the renderer
-- reads present (a runner's object comes from JSON).
local function group_of(g)
  local s = type(g.sample) == "table" and g.sample or {}
  local function list(v) return type(v) == "table" and v or {} end
  return { signature = g.signature, title = tostring(g.title or "?"), count = int(g.count),
    transient = g.transient == true, rule = g.rule, why = g.why, fix = g.fix, tables = list(g.tables),
    dates = list(g.dates), instances = list(g.instances),
    sample = { id = s.id, msg = type(s.msg) == "string" and s.msg or nil,
      sql = type(s.sql) == "string" and s.sql or nil } }
end

local function campaign_block(c, i, open)
  local id = word(c.id or i)
  local st = CAMPAIGN_STATES[c.state] and c.state or "pending"
  local tasks = type(c.tasks) == "table" and c.tasks or {}
  local groups = {}
  for _, g in ipairs(type(c.groups) == "table" and c.groups or {}) do
    if type(g) == "table" then groups[#groups + 1] = group_of(g) end
  end
  local key = "c:" .. id
  local out = {
    str_format('<details class="campaign" data-key="%s" data-campaign="%s" data-state="%s"%s>', esc(key), esc(id),
      esc(c.state or "pending"), open and " open" or ""),
    str_format('<summary>%s<span class="state st-%s">%s</span><span class="id muted">%s</span></summary>',
      esc(c.name or id), st, esc(str_gsub(tostring(c.state or "pending"), "_", " ")), esc(id)),
    facts(c),
  }
  local g = #tasks > 0 and grid(tasks) or ""
  if g ~= "" then out[#out + 1] = g .. "\n" .. LEGEND end
  if type(c.groups) == "table" then
    -- anchors by the campaign's place on the page; kept open by its id
    local ok, html = pcall(render_html.failure_groups, groups, { id_prefix = "c" .. i .. "-",
      key_prefix = key .. "/g-", dags = dags_by_instance(tasks), open = 1 })
    if ok and #groups == 0 then
      out[#out + 1] = "<p>No instance failed.</p>"
    elseif ok then
      out[#out + 1] = str_format("<h3>Failures by cause (%d)</h3>", #groups) .. html
    else
      out[#out + 1] = "<p>The failures could not be shown: " .. esc(html) .. "</p>"
    end
  end
  out[#out + 1] = "</details>"
  return tbl_concat(out, "\n")
end

-- syntax: html = page.fragment(campaigns [, opts])
-- campaigns: a list of the runner's campaign objects (GET P campaigns/ID:
-- `campaign run --json`'s object with id, name, created_at, state, eta),
-- or the lighter ones of GET P campaigns (no grid or failures without
-- their tasks and groups).  Each a <details data-campaign=ID>, opened
-- unless there are more than opts.open_max (3) and it succeeded.
function _M.fragment(campaigns, opts)
  opts = opts or {}
  if type(campaigns) ~= "table" or #campaigns == 0 then
    return '<p class="muted">No campaign yet.</p>'
  end
  local many = #campaigns > (tonumber(opts.open_max) or 3)
  local out = {}
  for i, c in ipairs(campaigns) do
    if type(c) == "table" then
      -- one campaign the page cannot draw does not take the others with it
      local ok, html = pcall(campaign_block, c, i, not (many and c.state == "succeeded"))
      out[#out + 1] = ok and html or ('<details class="campaign" open><summary>' .. esc(word(c.id or i))
        .. '<span class="state st-failed">not drawn</span></summary><p>' .. esc(html) .. "</p></details>")
    end
  end
  return tbl_concat(out, "\n")
end

return _M
