"""The demo city (Chicago) and its simulated past: the data a fresh install starts with.

Public surface: `demo.seed_demo` / `demo.is_seeded` / `demo.DemoSummary` (seeding),
`city` (geography, depots, `CITY_TIMEZONE`), `traffic` (the hidden ground-truth travel times
the ETA model learns back), `history` (the simulated past). Everything is a pure function of
(seed, today); only `city.today_in_city` reads the clock.
"""
