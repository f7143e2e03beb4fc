"""The demo city: Chicago's neighbourhoods, depots, shoreline, street grid and local time."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

CITY_NAME = "Chicago"
CITY_TIMEZONE = "America/Chicago"
CITY_TZ = ZoneInfo(CITY_TIMEZONE)

# The service area: Howard St (Evanston border) to 79th St, Cicero Ave to the lake.
CITY_BOX = {"lat_min": 41.745, "lat_max": 42.018, "lon_min": -87.745, "lon_max": -87.52}

# Lake Michigan's shoreline, north to south, as (lat, lon); everything east of it is water.
SHORELINE: tuple[tuple[float, float], ...] = (
    (42.0230, -87.6650),
    (42.0185, -87.6634),
    (42.0066, -87.6586),
    (41.9980, -87.6540),
    (41.9850, -87.6510),
    (41.9782, -87.6495),
    (41.9690, -87.6400),
    (41.9630, -87.6300),
    (41.9400, -87.6320),
    (41.9300, -87.6310),
    (41.9255, -87.6315),
    (41.9145, -87.6235),
    (41.9030, -87.6235),
    (41.8918, -87.6110),
    (41.8887, -87.6120),
    (41.8800, -87.6170),
    (41.8660, -87.6070),
    (41.8520, -87.6100),
    (41.8380, -87.6065),
    (41.8250, -87.6025),
    (41.8100, -87.5945),
    (41.7945, -87.5745),
    (41.7810, -87.5730),
    (41.7710, -87.5650),
    (41.7580, -87.5510),
    (41.7520, -87.5450),
    (41.7350, -87.5300),
)
# Parks, beaches and Lake Shore Drive line the lake: no customer lives within ~400 m of the water.
SHORE_MARGIN_DEG = 0.005

# Chicago's address grid: State St / Madison St is 0/0 and 800 address numbers make a mile.
GRID_ORIGIN = (41.8820, -87.6278)
LAT_DEG_PER_MILE = 1 / 69.05
LON_DEG_PER_MILE = 1 / 51.50
NUMBERS_PER_MILE = 800


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    """A real neighbourhood centre; orders cluster around it with `spread_km` (1 sigma)."""

    name: str
    lat: float
    lon: float
    spread_km: float
    weight: float
    business_share: float


@dataclass(frozen=True, slots=True)
class DepotSite:
    """A depot in one of the city's industrial corridors."""

    key: str
    name: str
    address: str
    lat: float
    lon: float


NEIGHBOURHOODS: tuple[Neighbourhood, ...] = (
    Neighbourhood("The Loop", 41.8819, -87.6300, 0.8, 1.6, 0.85),
    Neighbourhood("West Loop", 41.8827, -87.6500, 0.9, 1.3, 0.70),
    Neighbourhood("River North", 41.8924, -87.6341, 0.7, 1.0, 0.70),
    Neighbourhood("South Loop", 41.8620, -87.6260, 0.8, 0.8, 0.45),
    Neighbourhood("Lincoln Park", 41.9214, -87.6513, 1.1, 1.3, 0.30),
    Neighbourhood("Lakeview", 41.9434, -87.6543, 1.1, 1.4, 0.30),
    Neighbourhood("Wicker Park", 41.9088, -87.6796, 0.8, 1.0, 0.45),
    Neighbourhood("Logan Square", 41.9231, -87.7093, 1.0, 1.0, 0.30),
    Neighbourhood("Pilsen", 41.8564, -87.6590, 0.9, 0.9, 0.40),
    Neighbourhood("Bridgeport", 41.8381, -87.6513, 0.9, 0.7, 0.30),
    Neighbourhood("Hyde Park", 41.7943, -87.5950, 0.9, 0.8, 0.30),
    Neighbourhood("Uptown", 41.9656, -87.6560, 0.9, 0.8, 0.30),
    Neighbourhood("Humboldt Park", 41.9025, -87.7209, 1.0, 0.7, 0.25),
    Neighbourhood("Avondale", 41.9389, -87.7112, 0.9, 0.6, 0.30),
    Neighbourhood("Bronzeville", 41.8169, -87.6180, 1.0, 0.6, 0.25),
    Neighbourhood("Rogers Park", 42.0088, -87.6700, 0.8, 0.6, 0.25),
    Neighbourhood("Edgewater", 41.9837, -87.6620, 0.8, 0.6, 0.25),
    Neighbourhood("Ukrainian Village", 41.8990, -87.6850, 0.7, 0.5, 0.30),
)

DEPOTS: tuple[DepotSite, ...] = (
    DepotSite(
        "north",
        "North Branch Depot (Goose Island)",
        "1300 N Elston Ave, Chicago, IL 60642",
        41.9055,
        -87.6585,
    ),
    DepotSite(
        "south",
        "South Branch Depot (McKinley Park)",
        "2600 S Damen Ave, Chicago, IL 60608",
        41.8449,
        -87.6764,
    ),
)

# Territories: the south depot, by the Dan Ryan, serves the Loop and everything south of
# Kinzie St; the north depot serves the North and Northwest Sides.
TERRITORY_BOUNDARY_NS = 400

# North-south streets by address number (negative = east of State St).
NS_STREETS: tuple[tuple[int, str], ...] = (
    (-1600, "Stony Island Ave"),
    (-1400, "Dorchester Ave"),
    (-1200, "Woodlawn Ave"),
    (-1000, "Ellis Ave"),
    (-800, "Cottage Grove Ave"),
    (-400, "Martin Luther King Dr"),
    (-100, "Michigan Ave"),
    (-45, "Wabash Ave"),
    (0, "State St"),
    (36, "Dearborn St"),
    (100, "Clark St"),
    (140, "LaSalle St"),
    (200, "Wells St"),
    (300, "Franklin St"),
    (500, "Canal St"),
    (540, "Clinton St"),
    (600, "Jefferson St"),
    (800, "Halsted St"),
    (1000, "Morgan St"),
    (1200, "Racine Ave"),
    (1400, "Throop St"),
    (1600, "Ashland Ave"),
    (1700, "Paulina St"),
    (1800, "Wood St"),
    (2000, "Damen Ave"),
    (2200, "Leavitt St"),
    (2400, "Western Ave"),
    (2600, "Rockwell St"),
    (2800, "California Ave"),
    (3000, "Sacramento Ave"),
    (3200, "Kedzie Ave"),
    (3400, "Homan Ave"),
    (3600, "Central Park Ave"),
    (4000, "Pulaski Rd"),
    (4400, "Kostner Ave"),
    (4800, "Cicero Ave"),
)
# East-west streets by address number (negative = south of Madison St).
EW_STREETS: tuple[tuple[int, str], ...] = (
    (-7900, "79th St"),
    (-7500, "75th St"),
    (-7100, "71st St"),
    (-6700, "67th St"),
    (-6300, "63rd St"),
    (-5900, "59th St"),
    (-5500, "Garfield Blvd"),
    (-5300, "53rd St"),
    (-5100, "51st St"),
    (-4700, "47th St"),
    (-4300, "43rd St"),
    (-3900, "Pershing Rd"),
    (-3500, "35th St"),
    (-3100, "31st St"),
    (-2600, "26th St"),
    (-2200, "Cermak Rd"),
    (-1800, "18th St"),
    (-1600, "16th St"),
    (-1200, "Roosevelt Rd"),
    (-1000, "Taylor St"),
    (-800, "Polk St"),
    (-600, "Harrison St"),
    (-400, "Van Buren St"),
    (-300, "Jackson Blvd"),
    (-200, "Adams St"),
    (-100, "Monroe St"),
    (0, "Madison St"),
    (100, "Washington Blvd"),
    (150, "Randolph St"),
    (200, "Lake St"),
    (400, "Kinzie St"),
    (530, "Grand Ave"),
    (600, "Ohio St"),
    (800, "Chicago Ave"),
    (1000, "Augusta Blvd"),
    (1200, "Division St"),
    (1400, "Schiller St"),
    (1600, "North Ave"),
    (2000, "Armitage Ave"),
    (2200, "Webster Ave"),
    (2400, "Fullerton Ave"),
    (2800, "Diversey Pkwy"),
    (3000, "Wellington Ave"),
    (3200, "Belmont Ave"),
    (3400, "Roscoe St"),
    (3600, "Addison St"),
    (4000, "Irving Park Rd"),
    (4400, "Montrose Ave"),
    (4800, "Lawrence Ave"),
    (5200, "Foster Ave"),
    (5600, "Bryn Mawr Ave"),
    (6000, "Peterson Ave"),
    (6400, "Devon Ave"),
    (6800, "Pratt Blvd"),
    (7200, "Touhy Ave"),
)

# ZIP codes by rough area: (lat_min, lat_max, lon_min, lon_max, zip), first match wins.
_ZIP_AREAS: tuple[tuple[float, float, float, float, str], ...] = (
    (41.8750, 41.8870, -87.6350, -87.6150, "60603"),
    (41.8750, 41.8950, -87.6600, -87.6350, "60607"),
    (41.8870, 41.9000, -87.6450, -87.6150, "60654"),
    (41.8500, 41.8750, -87.6400, -87.6050, "60605"),
    (41.9000, 41.9300, -87.6650, -87.6200, "60614"),
    (41.9300, 41.9600, -87.6700, -87.6300, "60657"),
    (41.8950, 41.9200, -87.7000, -87.6650, "60622"),
    (41.9100, 41.9350, -87.7300, -87.7000, "60647"),
    (41.8400, 41.8650, -87.6800, -87.6400, "60608"),
    (41.8200, 41.8400, -87.6700, -87.6300, "60609"),
    (41.7750, 41.8100, -87.6100, -87.5650, "60615"),
    (41.9600, 41.9750, -87.6700, -87.6350, "60640"),
    (41.8850, 41.9150, -87.7500, -87.7000, "60651"),
    (41.9300, 41.9550, -87.7300, -87.6900, "60618"),
    (41.8000, 41.8400, -87.6300, -87.5900, "60616"),
    (41.9950, 42.0250, -87.6900, -87.6500, "60626"),
    (41.9750, 41.9950, -87.6800, -87.6450, "60660"),
)


def shoreline_lon(lat: np.ndarray | float) -> np.ndarray:
    """Longitude of the lake shore at each latitude (linear between the surveyed points)."""
    lats = np.array([p[0] for p in SHORELINE][::-1])
    lons = np.array([p[1] for p in SHORELINE][::-1])
    return np.interp(np.asarray(lat, dtype=float), lats, lons)


def is_on_land(lat: np.ndarray | float, lon: np.ndarray | float) -> np.ndarray:
    """Whether each point lies inside the service area and west of the lake (with margin)."""
    lat_a = np.asarray(lat, dtype=float)
    lon_a = np.asarray(lon, dtype=float)
    inside = (
        (lat_a >= CITY_BOX["lat_min"])
        & (lat_a <= CITY_BOX["lat_max"])
        & (lon_a >= CITY_BOX["lon_min"])
        & (lon_a <= CITY_BOX["lon_max"])
    )
    return inside & (lon_a <= shoreline_lon(lat_a) - SHORE_MARGIN_DEG)


def grid_numbers(lat: float, lon: float) -> tuple[int, int]:
    """Chicago address numbers of a point: (north-south, west-east), negative = south / east."""
    ns = (lat - GRID_ORIGIN[0]) / LAT_DEG_PER_MILE * NUMBERS_PER_MILE
    we = (GRID_ORIGIN[1] - lon) / LON_DEG_PER_MILE * NUMBERS_PER_MILE
    return round(ns), round(we)


def grid_lat(ns_number: float) -> float:
    """Latitude of an east-west street with this north-south address number."""
    return GRID_ORIGIN[0] + ns_number / NUMBERS_PER_MILE * LAT_DEG_PER_MILE


def grid_lon(we_number: float) -> float:
    """Longitude of a north-south street with this west-east address number."""
    return GRID_ORIGIN[1] - we_number / NUMBERS_PER_MILE * LON_DEG_PER_MILE


def zip_code(lat: float, lon: float) -> str:
    """A plausible ZIP code for a point (the nearest listed area, 606xx)."""
    for lat_min, lat_max, lon_min, lon_max, code in _ZIP_AREAS:
        if lat_min <= lat < lat_max and lon_min <= lon < lon_max:
            return code
    return "60612" if lat > 41.85 else "60653"


def snap_to_street(lat: float, lon: float, along_ns: bool) -> tuple[float, float, str]:
    """Move a point onto the nearest grid street and return (lat, lon, street address line).

    The grid makes addresses checkable: a house on Damen Ave (2000 W) at 2145 N sits at the
    latitude of 2145 N and the longitude of 2000 W.
    """
    ns, we = grid_numbers(lat, lon)
    if along_ns:
        number, street = _nearest(NS_STREETS, we)
        lon = grid_lon(number)
        house = abs(ns)
        name = f"{'N' if ns >= 0 else 'S'} {street}"
    else:
        number, street = _nearest(EW_STREETS, ns)
        lat = grid_lat(number)
        house = abs(we)
        name = f"{'W' if we >= 0 else 'E'} {street}"
    # Block numbers start at 100 on every street; 0-99 would read like a missing number.
    house = max(100, house)
    return lat, lon, f"{house} {name}"


def depot_territory(lat: np.ndarray) -> np.ndarray:
    """Index into DEPOTS of the depot whose territory holds each latitude."""
    north, south = depot_index("north"), depot_index("south")
    return np.where(np.asarray(lat) >= grid_lat(TERRITORY_BOUNDARY_NS), north, south)


def depot_index(key: str) -> int:
    """Position of the depot with this key in DEPOTS."""
    return next(i for i, d in enumerate(DEPOTS) if d.key == key)


def _nearest(streets: tuple[tuple[int, str], ...], number: float) -> tuple[int, str]:
    # Streets are sorted by address number: bisect, then pick the closer neighbour.
    k = bisect_left(streets, number, key=lambda s: s[0])
    candidates = streets[max(0, k - 1) : k + 1]
    return min(candidates, key=lambda s: abs(s[0] - number))


def full_address(line: str, lat: float, lon: float) -> str:
    """A postal address line with city, state and ZIP code."""
    return f"{line}, Chicago, IL {zip_code(lat, lon)}"


def local_midnight(day: date) -> datetime:
    """Midnight of `day` in the city's time zone (aware)."""
    return datetime.combine(day, time(0), tzinfo=CITY_TZ)


def at_local_minute(day: date, minute: float) -> datetime:
    """The aware UTC instant `minute` minutes after local midnight of `day` (wall-clock)."""
    # Wall-clock arithmetic on purpose: 08:00 is 08:00 even on a daylight-saving day.
    return (local_midnight(day) + timedelta(minutes=float(minute))).astimezone(UTC)


def is_public_holiday(day: date) -> bool:
    """Whether the company is closed for a major US holiday (little demand, no rush hour)."""
    if (day.month, day.day) in {(1, 1), (7, 4), (12, 25)}:
        return True
    nth = (day.day - 1) // 7 + 1  # which occurrence of this weekday in the month
    last = (day + timedelta(days=7)).month != day.month
    return (
        (day.month == 5 and day.weekday() == 0 and last)  # Memorial Day
        or (day.month == 9 and day.weekday() == 0 and nth == 1)  # Labor Day
        or (day.month == 11 and day.weekday() == 3 and nth == 4)  # Thanksgiving
    )


def traffic_weekday(day: date) -> int:
    """The weekday traffic behaves like (Monday = 0): public holidays drive like a Sunday."""
    return 6 if is_public_holiday(day) else day.weekday()


def today_in_city() -> date:
    """Today's date in the city's time zone (the only place the demo reads the clock)."""
    return datetime.now(CITY_TZ).date()
