"""Atlas du foncier économique: activity zones (CNIG sites économiques), plots, establishments (SIRENE), PLU zoning,
their status history, and the atlas figures per zone, commune, EPCI and PMA; ZAN land-consumption monitoring."""
