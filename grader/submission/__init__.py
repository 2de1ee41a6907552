"""A submission as handed in: finding and copying it, archives, the one reading of its files, the Compose model, paths inside it."""
