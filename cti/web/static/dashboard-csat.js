// The dashboard's satisfaction tile: today's CSAT (the share of 4-5 ratings) of the surveys sent today in the
// supervisor's scope, from the same figures as the survey report (GET /api/reports/surveys?by=queue), following the
// queue filter; its title gives the NPS-style score, first-contact resolution and response rate. Read again every
// minute. While the report cannot be read the tile shows "–": nothing else on the dashboard depends on it.
import { api } from "/ui/cti.js";
import { fmt, t, timeZone, today } from "/ui/i18n.js";

const $ = (id) => document.getElementById(id);
let report = null;

const share = (value) => (value === null || value === undefined ? "–" : fmt.percent(value, 0));

export function renderCsat() {
  const tile = $("csat");
  if (!tile) return;
  const queue = $("queue") ? $("queue").value : "";
  const figures = !report ? null : (queue ? report.rows.find((row) => row.key === queue) || null : report.total);
  tile.textContent = figures ? share(figures.csat) : "–";
  $("tile-csat").title = figures ? t("dash.csat.detail", {
    nps: figures.nps === null ? "–" : fmt.number(figures.nps, 0), fcr: share(figures.fcr),
    rate: share(figures.response_rate), rated: figures.rated }) : "";
}

export async function refreshCsat() {
  try {
    const query = new URLSearchParams({ from: today(), by: "queue", tz: timeZone() });
    report = await api(`/api/reports/surveys?${query}`);
  } catch {
    report = null;
  }
  renderCsat();
}

export function startCsat(everyMs = 60_000) {
  refreshCsat();
  setInterval(refreshCsat, everyMs);
}
