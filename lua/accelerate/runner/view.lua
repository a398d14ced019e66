-- The runner's two views of every campaign: the Prometheus metrics
-- (accelerate.metrics, the same families as `campaign run --metrics`) and
-- the live page (accelerate.runner.page).
local metrics = require "accelerate.metrics"
local page = require "accelerate.runner.page"

local ngx = ngx
local ipairs = ipairs

local _M = {}

local function send(status, body, ctype)
  ngx.status = status
  ngx.header["Content-Type"] = ctype
  ngx.header["Cache-Control"] = "no-store"
  ngx.print(body)
end

-- syntax: view.metrics(R, objects)
-- objects(): every campaign's object (http.lua's).
function _M.metrics(R, objects)
  local campaigns = {}
  for i, obj in ipairs(objects()) do
    campaigns[i] = { id = obj.id, name = obj.name, state = obj.state, report = obj, eta = obj.eta }
  end
  -- 1 for the worker that runs this nginx's campaigns, while it is alive
  local leader = {}
  local alive = R.dict:get("leader") ~= nil
  for w = 0, ngx.worker.count() - 1 do leader[w] = (alive and w == R.worker) and 1 or 0 end
  send(200, metrics.render { campaigns = campaigns, store = R.dict, leader = leader }, metrics.CONTENT_TYPE)
end

-- syntax: view.page(prefix, objects)
-- The document (its policy with a fresh nonce), or, asked with
-- ?fragment=1, the campaigns' HTML its script polls for.
function _M.page(prefix, objects)
  if ngx.var.args == page.FRAGMENT_QUERY then
    return send(200, page.fragment(objects()), "text/html; charset=utf-8")
  end
  local nonce, err = page.nonce()
  if not nonce then
    ngx.log(ngx.ERR, "accelerate.runner: no nonce for the page: ", err)
    return send(500, "no nonce for the page's policy; the server's log has its cause", "text/plain")
  end
  local doc = page.document(prefix, nonce, { fragment = page.fragment(objects()) })
  ngx.header["Content-Security-Policy"] = page.csp(nonce)
  ngx.header["X-Content-Type-Options"] = "nosniff"
  return send(200, doc, "text/html; charset=utf-8")
end

return _M
