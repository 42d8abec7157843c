"""The example data product's demo data: a seeded shop database and a products CSV.

``python -m dataos_defs.demo start`` is what ``make up`` runs before applying
``resources/``; ``python -m dataos_defs.demo stop`` is what ``make down`` runs.
"""
