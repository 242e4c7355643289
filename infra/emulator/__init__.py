"""The local AWS emulator (moto server) and the patches that make it behave like AWS for our stacks."""
