// The front page: takes each user to what their role needs (agent -> desktop, supervisor -> dashboard); an
// administrator stays here, on a small home with the pages open to them.
import { HOME, startPage } from "/ui/shell.js";

const user = await startPage({ page: "index" });
if (user) {
  const home = HOME[user.role];
  if (home && home !== location.pathname) location.replace(home);
  else document.getElementById("admin-home").hidden = false;
}
