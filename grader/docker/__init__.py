"""Everything that talks to the Docker engine: the one subprocess gateway, Compose commands, the boot file, builds, the booted stack, cleanup."""
