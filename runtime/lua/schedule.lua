-- schedule.lua: `mercado schedule` (placeholder until the scheduler lands).
local schedule = {}

function schedule.main(_, cli)
  return cli.usage_error("the scheduler is not part of this build yet")
end

return schedule
