"""Customer, driver and business names for the demo city."""

from __future__ import annotations

import numpy as np

FIRST_NAMES = (
    "Maria",
    "James",
    "Aisha",
    "Michael",
    "Sofia",
    "David",
    "Keisha",
    "Jose",
    "Emily",
    "Daniel",
    "Guadalupe",
    "Robert",
    "Tanya",
    "Luis",
    "Hannah",
    "Marcus",
    "Priya",
    "Kevin",
    "Olga",
    "Andre",
    "Jasmine",
    "Tomasz",
    "Rosa",
    "Brian",
    "Mei",
    "Carlos",
    "Nia",
    "Patrick",
    "Fatima",
    "Ethan",
    "Grace",
    "Omar",
    "Lauren",
    "Dmitri",
    "Yolanda",
    "Sean",
    "Ana",
    "Terrence",
    "Julia",
    "Ahmed",
)
LAST_NAMES = (
    "Garcia",
    "Johnson",
    "Kowalski",
    "Williams",
    "Hernandez",
    "Brown",
    "Nowak",
    "Jackson",
    "Lopez",
    "Murphy",
    "Patel",
    "Washington",
    "Martinez",
    "O'Brien",
    "Nguyen",
    "Davis",
    "Kim",
    "Rodriguez",
    "Wisniewski",
    "Thompson",
    "Chen",
    "Gonzalez",
    "Sullivan",
    "Robinson",
    "Ramirez",
    "Kaminski",
    "Lewis",
    "Flores",
    "Anderson",
    "Okafor",
    "Novak",
    "Harris",
    "Reyes",
    "Walsh",
)
_BUSINESS_KINDS = (
    "Deli",
    "Cafe",
    "Bakery",
    "Taqueria",
    "Hardware",
    "Pharmacy",
    "Dental Care",
    "Books",
    "Florist",
    "Pizzeria",
    "Fitness",
    "Print Shop",
    "Law Office",
    "Market",
    "Salon",
    "Bistro",
    "Coffee Roasters",
    "Pet Supply",
    "Bike Shop",
    "Tavern",
)
_BUSINESS_STEMS = (
    "Windy City",
    "Lakeshore",
    "Halsted",
    "Second City",
    "Prairie",
    "Green Line",
    "Blue Line",
    "Riverwalk",
    "Lincoln",
    "Kedzie",
    "Wrigley",
    "Damen",
    "Ashland",
    "Fulton Market",
    "Bucktown",
    "Paseo",
    "Bronzeville",
    "Harbor",
    "Goose Island",
    "Maxwell Street",
)
_REFRIGERATED_KINDS = ("Fresh Market", "Seafood", "Butcher", "Grocery", "Restaurant", "Ice Cream")


def customer_names(rng: np.random.Generator, business: np.ndarray, cold: np.ndarray) -> list[str]:
    """A name per order: a business for business orders (a food one if cold), else a person."""
    n = len(business)
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    stem = rng.integers(0, len(_BUSINESS_STEMS), n)
    kind = rng.integers(0, len(_BUSINESS_KINDS), n)
    cold_kind = rng.integers(0, len(_REFRIGERATED_KINDS), n)
    family = rng.random(n) < 0.35
    names: list[str] = []
    for i in range(n):
        if business[i] or cold[i]:
            kinds = _REFRIGERATED_KINDS if cold[i] else _BUSINESS_KINDS
            k = kinds[cold_kind[i] if cold[i] else kind[i]]
            owner = f"{LAST_NAMES[last[i]]}'s" if family[i] else _BUSINESS_STEMS[stem[i]]
            names.append(f"{owner} {k}")
        else:
            names.append(f"{FIRST_NAMES[first[i]]} {LAST_NAMES[last[i]]}")
    return names


def driver_names(rng: np.random.Generator, count: int) -> list[str]:
    """Distinct full names for the drivers."""
    pairs = [(f, surname) for f in FIRST_NAMES for surname in LAST_NAMES]
    picks = rng.choice(len(pairs), size=count, replace=False)
    return [f"{pairs[i][0]} {pairs[i][1]}" for i in picks]
