"""Fake but plausible people: small name lists, combined at random (no external data)."""

from __future__ import annotations

import random

FIRST_NAMES = (
    "Aaliyah", "Adam", "Aisha", "Alejandro", "Amara", "Amelia", "Andrei", "Anna", "Arjun",
    "Beatriz", "Benjamin", "Camila", "Carlos", "Chen", "Chloe", "Daniel", "David", "Diego",
    "Elena", "Elijah", "Emily", "Emma", "Farah", "Fatima", "Gabriel", "Grace", "Hannah",
    "Hiroshi", "Ibrahim", "Isabella", "Ivan", "Jacob", "James", "Javier", "Jin", "Joseph",
    "Julia", "Kwame", "Layla", "Leo", "Liam", "Lucas", "Lucia", "Maria", "Mateo", "Maya",
    "Mei", "Michael", "Mohammed", "Nadia", "Noah", "Olivia", "Omar", "Priya", "Rafael",
    "Ravi", "Rosa", "Samuel", "Sara", "Sofia", "Thomas", "Valentina", "Wei", "William",
    "Yara", "Yusuf", "Zoe",
)

LAST_NAMES = (
    "Adeyemi", "Ahmed", "Alvarez", "Anderson", "Bakker", "Brown", "Castro", "Chen", "Clarke",
    "Cohen", "Costa", "Davis", "Diaz", "Dubois", "Evans", "Fischer", "Garcia", "Gonzalez",
    "Gupta", "Hall", "Hansen", "Hernandez", "Hughes", "Ivanova", "Jackson", "Johnson", "Kaur",
    "Khan", "Kim", "Kowalski", "Lee", "Lopez", "Martin", "Martinez", "Mensah", "Miller",
    "Moreau", "Muller", "Murphy", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Patel",
    "Perez", "Petrov", "Ramirez", "Reyes", "Rossi", "Sanchez", "Santos", "Schmidt", "Silva",
    "Singh", "Smith", "Sullivan", "Tanaka", "Taylor", "Thompson", "Torres", "Walker", "Wang",
    "Williams", "Wilson", "Wright", "Yilmaz", "Young", "Zhang",
)


def person_name(rng: random.Random) -> str:
    """"First Last", about 4,600 combinations: repeats happen, as in any real hospital."""
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
