"""Workforce management: forecast, Erlang C/A staffing, schedules, adherence (issue 7)."""
