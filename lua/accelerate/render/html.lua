-- `accelerate report DAG --html FILE`: one self-contained page (no
-- network, no external script, font or stylesheet; inline SVG and a few
-- lines of inline script) with the calendar heatmap, the timeline, the
-- failure groups with a sample stack and SQL, and the timing tables.
-- Readable printed and in a dark browser theme.  Pure: a report in, text
-- out; every string a server sent is escaped.

local insight = require "accelerate.insight"
local charts = require "accelerate.render.charts"
local render_text = require "accelerate.render.text"
local status = require "accelerate.statuses"
local util = require "accelerate.util"

local ipairs = ipairs
local tostring = tostring
local str_byte = string.byte
local str_format = string.format
local tbl_concat = table.concat
local esc = charts.esc
local format_duration = util.format_duration

local _M = {}

-- The light colours, for the screen and, whatever the browser's theme,
-- for paper.
local LIGHT = "--bg:#fff;--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--card:#f6f8fa;--ok:#2da44e;"
  .. "--fail:#cf222e;--run:#bf8700;--wait:#0969da;--other:#8250df;--queue:#b6d4f2;--mark:#82071e;--code:#f3f4f6"

local CSS = ":root{" .. LIGHT .. "}\n" .. [[
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;
--card:#161b22;--ok:#3fb950;--fail:#f85149;--run:#d29922;--wait:#58a6ff;--other:#bc8cff;--queue:#1f4166;
--mark:#ffa198;--code:#161b22}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1320px;padding:16px 24px;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid var(--line)}
.muted{color:var(--muted)}.sum span{margin-right:14px}.summary a{margin-right:12px}
.sum i{display:inline-block;width:9px;height:9px}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:6px;background:var(--card);padding:6px}
svg.gantt{max-width:100%;height:auto}svg text{fill:var(--fg);font-size:11px}svg .ax{fill:var(--muted);font-size:10px}
svg .lbl{text-anchor:end}svg .grp{font-weight:600}svg .row{text-anchor:end;font-size:9px;fill:var(--muted)}
svg .tick,svg .grid{stroke:var(--line)}svg .sep{stroke:var(--muted);stroke-width:.5}
.c-SUCCESS{fill:var(--ok)}.c-FAILED{fill:var(--fail)}.c-RUNNING{fill:var(--run)}.c-WAITING{fill:var(--wait)}
.c-OTHER{fill:var(--other)}.q{fill:var(--queue)}.mark{fill:var(--mark)}
svg [data-inst]:hover,svg [data-bar]:hover rect{stroke:var(--fg);stroke-width:1}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:11px;height:11px;
margin-right:5px;vertical-align:-1px;border-radius:2px}
i.c-SUCCESS{background:var(--ok)}i.c-FAILED{background:var(--fail)}i.c-RUNNING{background:var(--run)}
i.c-WAITING{background:var(--wait)}i.c-OTHER{background:var(--other)}i.q{background:var(--queue)}
i.mark{background:var(--mark);width:4px}
details.group{border:1px solid var(--line);border-left:4px solid var(--fail);border-radius:6px;margin:8px 0;
padding:6px 10px;background:var(--card)}details.group.t{border-left-color:var(--run)}
details.group>summary{cursor:pointer;font-weight:600}
.badge{font-size:11px;font-weight:600;padding:1px 7px;border-radius:9px;margin-left:6px;border:1px solid}
.badge.t{color:var(--run)}.badge.nt{color:var(--fail)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0}dt{color:var(--muted)}dd{margin:0}
pre{background:var(--code);border:1px solid var(--line);border-radius:4px;padding:8px;overflow-x:auto;
font:12px/1.4 ui-monospace,"DejaVu Sans Mono",monospace;white-space:pre-wrap;word-break:break-word}
code{font:12px ui-monospace,"DejaVu Sans Mono",monospace;background:var(--code);padding:1px 4px;border-radius:3px}
table{border-collapse:collapse;margin:6px 0 14px}th,td{padding:3px 10px;border-bottom:1px solid var(--line);
text-align:left;white-space:nowrap}.n{text-align:right}th{color:var(--muted);font-weight:600}
]] .. "@media print{:root{" .. LIGHT .. ";--fg:#000;--muted:#444;--line:#bbb;--card:#fff;--code:#fff}" .. [[
body{max-width:none;padding:0;font-size:10pt;-webkit-print-color-adjust:exact;print-color-adjust:exact}
.scroll{overflow:visible;border:0;padding:0}
h2{break-after:avoid}details.group,table{break-inside:avoid}svg{max-width:100%;height:auto}}
]]

-- Opens every <details> for printing, and closes them again after; marks
-- the page as ready (the browser spec checks that it ran).
local SCRIPT = [[
(function(){var opened=[];
addEventListener('beforeprint',function(){document.querySelectorAll('details:not([open])').forEach(
function(d){d.open=true;opened.push(d);});});
addEventListener('afterprint',function(){opened.forEach(function(d){d.open=false;});opened=[];});
document.documentElement.setAttribute('data-ready','1');})();
]]

-- The page's policy: nothing from the network, only its own inline style,
-- script and SVG.
local CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

local function legend(with_queue)
  local out = { '<p class="legend">' }
  for _, c in ipairs(status.CLASSES) do
    out[#out + 1] = '<span><i class="c-' .. c .. '"></i>' .. c:lower() .. "</span>"
  end
  if with_queue then
    -- the mark is where a failed run ended: "failed" is the status's label
    out[#out + 1] = '<span><i class="q"></i>queue wait</span><span><i class="mark"></i>end of a failed run</span>'
  end
  out[#out + 1] = "</p>"
  return tbl_concat(out)
end

local function header(r, t, opts)
  local counts = {}
  for _, k in ipairs(status.STATUS_ORDER) do
    counts[#counts + 1] = str_format('<span><i class="c-%s"></i> %s %d</span>', k, k,
      r.counts and r.counts[k] or 0)
  end
  local out = {
    "<h1>Backfill " .. esc(r.dagName or "?") .. "</h1>",
    '<p class="sum">' .. tbl_concat(counts) .. "<span>of " .. esc(r.total or #(r.instances or {}))
      .. " instances</span></p>",
  }
  local line = render_text.timing_line(t)
  if line then out[#out + 1] = "<p>" .. esc(line) .. "</p>" end
  local notes = {}
  if opts.generated_at then notes[#notes + 1] = "generated " .. esc(opts.generated_at) end
  if opts.fetch then
    notes[#notes + 1] = str_format("%d details fetched in %.2f s", opts.fetch.details or 0, opts.fetch.seconds or 0)
  end
  notes[#notes + 1] = "times are the server's, which carry no zone"
  out[#out + 1] = '<p class="muted">' .. tbl_concat(notes, "; ") .. "</p>"
  return tbl_concat(out, "\n")
end

local OPEN_GROUPS = 5   -- the largest groups show their facts at once

-- The links at the top: each failure group (the anchors group_block
-- gives), then the timing section.
local function summary(groups)
  local out = { '<nav class="summary">' }
  out[#out + 1] = str_format('<a href="#failures">%d failure group%s</a>', #groups, #groups == 1 and "" or "s")
  for i, g in ipairs(groups) do
    out[#out + 1] = str_format('<a href="#group-%d">%d &times; %s</a>', i, g.count, esc(g.title))
  end
  out[#out + 1] = '<a href="#timing">where the time went</a></nav>'
  return tbl_concat(out)
end

-- A short stable key of a group's signature (djb2, 32 bits, in hex;
-- exact in doubles on every Lua): the same cause keeps its key while the
-- groups' order changes, so a live page keeps a group opened.
local function group_key(g)
  local h = 5381
  local sig = tostring(g.signature or g.title or "")
  for i = 1, #sig do h = (h * 33 + str_byte(sig, i)) % 4294967296 end
  return str_format("%08x", h)
end

-- The repair line: `accelerate repair DAG` for each backfill the group's
-- failures are in (opts.dags(g), a list), or the report's own DAG.
local function repair_line(g, opts)
  local dags = opts.dags and opts.dags(g) or { opts.dag }
  local out = {}
  for i, dag in ipairs(dags) do out[i] = "<code>accelerate repair " .. esc(dag) .. "</code>" end
  if #out == 0 then return "" end
  return "<dt>repair</dt><dd>" .. tbl_concat(out, " ") .. "</dd>"
end

local function group_block(g, i, opts, open)
  local id = (opts.id_prefix or "group-") .. (opts.id_prefix and group_key(g) or tostring(i))
  local key = opts.key_prefix and (opts.key_prefix .. group_key(g)) or id
  local out = {
    str_format('<details class="group%s" id="%s" data-key="%s"%s><summary>%d &times; %s'
      .. '<span class="badge %s">%s</span></summary>', g.transient and " t" or "", esc(id), esc(key),
      open and " open" or "", g.count, esc(g.title), g.transient and "t" or "nt",
      g.transient and "transient" or "not transient"),
    "<dl><dt>tables</dt><dd>" .. esc(tbl_concat(g.tables, ", ")) .. "</dd>",
    "<dt>dates</dt><dd>" .. esc(insight.compress_dates(g.dates)) .. "</dd>",
    "<dt>instances</dt><dd>" .. esc(tbl_concat(g.instances, ", ")) .. "</dd>",
    "<dt>verdict</dt><dd>" .. esc(render_text.verdict(g)) .. "</dd>",
    repair_line(g, opts) .. "</dl>",
    "<details><summary>sample stack (instance " .. esc(g.sample.id) .. ")</summary><pre>"
      .. esc(g.sample.msg or "(no error message)") .. "</pre></details>",
    "<details><summary>sample SQL</summary><pre>" .. esc(g.sample.sql or "(none)") .. "</pre></details>",
    "</details>",
  }
  return tbl_concat(out, "\n")
end

-- syntax: text = html.failure_groups(groups [, opts])
-- The failures by cause (insight.failures' groups) as <details> blocks,
-- the largest opened: the report's section, and each campaign's on the
-- runner's page.  opts.dag: the backfill the repair line names;
-- opts.dags(g): a list of them per group instead; opts.id_prefix: ids
-- PREFIX..KEY, KEY from the group's signature, so that several lists
-- share a page and a group keeps its id as the order changes (default
-- group-1, group-2...); opts.key_prefix: data-key PREFIX..KEY (default
-- the id), what a live page keeps a group opened by; opts.open: how many
-- are opened (5).
function _M.failure_groups(groups, opts)
  opts = opts or {}
  if #groups == 0 then return "<p>No instance failed.</p>" end
  local out = {}
  for i, g in ipairs(groups) do out[#out + 1] = group_block(g, i, opts, i <= (opts.open or OPEN_GROUPS)) end
  return tbl_concat(out, "\n")
end

local function d(s, k) return s and s.count and s.count > 0 and format_duration(s[k]) or "-" end

local function stats_table(title, rows)
  local out = { "<table><tr><th>" .. title .. '</th><th class="n">instances</th><th class="n">failed</th>'
    .. '<th class="n">queue p50</th><th class="n">p95</th><th class="n">max</th><th class="n">run p50</th>'
    .. '<th class="n">p95</th><th class="n">max</th></tr>' }
  for _, b in ipairs(rows) do
    out[#out + 1] = str_format('<tr><td>%s</td><td class="n">%d</td><td class="n">%d</td><td class="n">%s</td>'
      .. '<td class="n">%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td>'
      .. "</tr>", esc(b.name), b.count, b.failed, d(b.queue, "p50"),
      d(b.queue, "p95"), d(b.queue, "max"), d(b.run, "p50"), d(b.run, "p95"), d(b.run, "max"))
  end
  out[#out + 1] = "</table>"
  return tbl_concat(out, "\n")
end

local function slowest_table(list)
  if #list == 0 then return "" end
  local out = { "<table><tr><th>slowest</th><th>table</th><th>partitions</th><th>status</th>"
    .. '<th class="n">queue</th><th class="n">run</th></tr>' }
  for _, s in ipairs(list) do
    out[#out + 1] = str_format('<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class="n">%s</td>'
      .. '<td class="n">%s</td></tr>',
      esc(s.id), esc(s.table), esc(s.first == s.last and (s.first or "-") or (s.first .. ".." .. s.last)),
      esc(s.status), s.queue and format_duration(s.queue) or "-", format_duration(s.run))
  end
  out[#out + 1] = "</table>"
  return tbl_concat(out, "\n")
end

local function timing_section(t)
  if t.timed == 0 then return "<p>No instance has times yet.</p>" end
  return tbl_concat({
    str_format("<p>%d of %d instances have times; %d never ran; at most %d ran at once%s.</p>", t.timed,
      t.instances, t.never_ran, t.concurrency,
      t.throughput and str_format("; %.1f instances finished per hour", t.throughput) or ""),
    stats_table("resource group", t.by_group), stats_table("table", t.by_table), slowest_table(t.slowest),
  }, "\n")
end

-- syntax: html = html.render(report [, opts])
-- report: workflow.wait's report with its failures' details, and
-- report.details = {[id] = detail} for every instance the timeline draws.
-- opts.generated_at (text), opts.fetch = {details =, seconds =}.
function _M.render(r, opts)
  opts = opts or {}
  local entries = insight.entries(r, r.details)
  local spans = insight.spans(entries)
  local t = insight.timing(entries)
  local groups = insight.failures(r.failures)
  local gantt, bars = charts.timeline(spans)
  local parts = {
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
    '<meta http-equiv="Content-Security-Policy" content="' .. CSP .. '">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    "<title>accelerate: backfill " .. esc(r.dagName or "?") .. "</title>",
    "<style>" .. CSS .. "</style></head><body>",
    header(r, t, opts), summary(groups),
    "<h2>Calendar: table &times; date</h2>", legend(false),
    '<div class="scroll">' .. charts.heatmap(spans) .. "</div>",
    "<h2>Timeline by resource group</h2>", legend(true),
    str_format('<p class="muted">%d instances drawn; hover a bar for its times.</p>', bars),
    '<div class="scroll">' .. gantt .. "</div>",
    str_format('<h2 id="failures">Failures by cause (%d)</h2>', #groups),
    _M.failure_groups(groups, { dag = r.dagName }),
    '<h2 id="timing">Where the time went</h2>', timing_section(t),
    "<script>" .. SCRIPT .. "</script></body></html>\n",
  }
  return tbl_concat(parts, "\n")
end

_M.escape = esc
-- The report's stylesheet (colours for light, dark and print), which the
-- runner's page (runner/page.lua) builds on.
_M.CSS = CSS

return _M
