"""The platform's OpenTofu workflows: deploy, plan review, drift, destroy and recreate (one module each)."""
