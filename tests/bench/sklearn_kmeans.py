# sklearn_kmeans.py: the scikit-learn peer: `python3 sklearn_kmeans.py FEATURES.csv REPS`. Standardizes the four
# customer features (sample standard deviation, as mercado) and times KMeans(n_clusters=4, n_init=10,
# random_state=42, algorithm="lloyd"); prints one JSON line with the median seconds, the first run's (cold), the
# median of the others (warm) and the inertia.
import csv, json, statistics, sys, time
import numpy as np
from sklearn.cluster import KMeans

rows = list(csv.DictReader(open(sys.argv[1])))
cols = ["frequency", "unique_products", "total_volume", "unique_categories"]
x = np.array([[float(r[c]) for c in cols] for r in rows])
sd = x.std(axis=0, ddof=1)
sd[sd == 0] = 1
z = (x - x.mean(axis=0)) / sd
times, inertia = [], None
for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 3):
    t0 = time.perf_counter()
    m = KMeans(n_clusters=4, n_init=10, random_state=42, algorithm="lloyd").fit(z)
    times.append(time.perf_counter() - t0)
    inertia = float(m.inertia_)
warm = statistics.median(times[1:]) if len(times) > 1 else times[0]
print(json.dumps({"stage": "kmeans", "seconds": statistics.median(times), "cold": times[0], "warm": warm,
                  "inertia": inertia}))
