// Starts the dashboard's satisfaction tile (/ui/dashboard-csat.js) on the test page, as the dashboard does.
import { token } from "/ui/cti.js";
import { loadCatalogs } from "/ui/i18n.js";
import { renderCsat, startCsat } from "/ui/dashboard-csat.js";

token();  // adopt the #token= of the address
await loadCatalogs(["dashboard"]);
document.getElementById("queue").addEventListener("change", renderCsat);
startCsat();
