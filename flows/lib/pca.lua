-- lib/pca.lua: principal components of a small symmetric matrix (the correlation matrix of a few standardized
-- features), by the cyclic Jacobi method: d x d with d <= 10, so plain Lua is enough.
local pca = {}

-- Eigenvalues (descending) and unit eigenvectors (columns; the largest component of each made positive, so the
-- signs are deterministic) of symmetric matrix a (array of arrays).
function pca.eigen(a)
  local d = #a
  local m, v = {}, {}
  for i = 1, d do
    m[i], v[i] = {}, {}
    for j = 1, d do m[i][j] = a[i][j]; v[i][j] = i == j and 1.0 or 0.0 end
  end
  for _ = 1, 100 do
    local off = 0
    for i = 1, d do for j = i + 1, d do off = off + m[i][j] ^ 2 end end
    if off < 1e-30 then break end
    for p = 1, d - 1 do
      for q = p + 1, d do
        if math.abs(m[p][q]) > 1e-300 then
          local theta = (m[q][q] - m[p][p]) / (2 * m[p][q])
          local t = (theta >= 0 and 1 or -1) / (math.abs(theta) + math.sqrt(theta * theta + 1))
          local c = 1 / math.sqrt(t * t + 1)
          local s = t * c
          for k = 1, d do -- rotate rows/columns p and q
            local mkp, mkq = m[k][p], m[k][q]
            m[k][p], m[k][q] = c * mkp - s * mkq, s * mkp + c * mkq
          end
          for k = 1, d do
            local mpk, mqk = m[p][k], m[q][k]
            m[p][k], m[q][k] = c * mpk - s * mqk, s * mpk + c * mqk
          end
          for k = 1, d do
            local vkp, vkq = v[k][p], v[k][q]
            v[k][p], v[k][q] = c * vkp - s * vkq, s * vkp + c * vkq
          end
        end
      end
    end
  end
  local order = {}
  for i = 1, d do order[i] = i end
  table.sort(order, function(x, y) return m[x][x] > m[y][y] or (m[x][x] == m[y][y] and x < y) end)
  local values, vectors = {}, {}
  for r, i in ipairs(order) do
    values[r] = m[i][i]
    local vec, big = {}, 1
    for k = 1, d do
      vec[k] = v[k][i]
      if math.abs(vec[k]) > math.abs(vec[big]) then big = k end
    end
    if vec[big] < 0 then for k = 1, d do vec[k] = -vec[k] end end
    vectors[r] = vec
  end
  return values, vectors
end

return pca
