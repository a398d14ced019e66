-- The runner's two views of every campaign: the Prometheus metrics
-- (accelerate.metrics, the same families as `campaign run --metrics`) and
-- the live page (accelerate.runner.page).
local metrics = require "accelerate.metrics"

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

return _M
