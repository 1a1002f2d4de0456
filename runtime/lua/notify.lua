-- notify.lua: flow event notifications (placeholder: events are only logged until the channels land).
local notify = {}

-- notify.emit(event, logger): event = {event, flow, run_id, parent_run_id, timestamp, ...}; never raises.
function notify.emit(event, logger)
  local _ = event
  local _ = logger
end

return notify
