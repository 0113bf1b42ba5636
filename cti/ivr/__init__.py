"""IVR: bilingual (Bahasa Indonesia / English) menus, offline speech and DTMF, self-service (issue 4)."""
