-- strict.lua: environments with strict globals for flows: reading or assigning an undeclared global is an error
-- naming it, so typos surface at once instead of becoming nil.
local strict = {}

-- Returns a new environment that reads the standard globals (plus `extra`) and refuses everything else.
function strict.env(extra, chunkname)
  local env = {}
  for k, v in pairs(extra or {}) do rawset(env, k, v) end
  return setmetatable(env, {
    __index = function(_, k)
      local v = _G[k]
      if v == nil then error(string.format("undefined global '%s'%s", tostring(k), chunkname and (" in " .. chunkname) or ""), 2) end
      return v
    end,
    __newindex = function(_, k)
      error(string.format("assignment to undeclared global '%s' (use local)", tostring(k)), 2)
    end,
  })
end

return strict
