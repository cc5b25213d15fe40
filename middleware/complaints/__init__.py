"""Complaints and appeals (ANTH-COMPLAINT-1; the appeal channel of ANTH-MINOR-5)."""
