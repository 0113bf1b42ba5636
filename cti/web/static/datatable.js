// Sortable, filterable tables for the supervisor pages (dashboard, reports).
// A header <th data-sort="key"> gets a button; clicking it sorts by that column (again: the other way), and the
// header carries aria-sort ("ascending" / "descending") so a screen reader says how the table is ordered.
// The page keeps building its rows with el() from data (never HTML) and orders them with sortRows().

export function sortable(table, onChange, initial = { key: null, dir: "ascending" }) {
  const state = { ...initial };
  const headers = [...table.querySelectorAll("th[data-sort]")];
  const show = () => {
    for (const th of headers) {
      if (th.dataset.sort === state.key) th.setAttribute("aria-sort", state.dir);
      else th.removeAttribute("aria-sort");
    }
  };
  for (const th of headers) {
    let button = th.querySelector("button");
    if (!button) {
      button = document.createElement("button");
      button.type = "button";
      button.append(...th.childNodes);
      th.append(button);
    }
    button.classList.add("sort");
    button.addEventListener("click", () => {
      state.dir = state.key === th.dataset.sort && state.dir === "ascending" ? "descending" : "ascending";
      state.key = th.dataset.sort;
      show();
      onChange(state);
    });
  }
  show();
  return state;
}

// Items ordered by state.key: value(item, key) gives a number or a string; empty values (null, undefined, "")
// always go last, whichever the direction; ties keep the items' order.
export function sortRows(items, state, value) {
  if (!state.key) return items;
  const sign = state.dir === "descending" ? -1 : 1;
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  return items.map((item, i) => [item, value(item, state.key), i]).sort(([, a, i], [, b, j]) => {
    const emptyA = a === null || a === undefined || a === "";
    const emptyB = b === null || b === undefined || b === "";
    if (emptyA || emptyB) return emptyA === emptyB ? i - j : (emptyA ? 1 : -1);
    const order = typeof a === "number" && typeof b === "number" ? a - b : collator.compare(String(a), String(b));
    return order ? sign * order : i - j;
  }).map(([item]) => item);
}

// Whether any of the texts contains the filter's words (all of them, in any order, case and accents ignored).
export function matches(query, ...texts) {
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (!words.length) return true;
  const haystack = fold(texts.filter((v) => v !== null && v !== undefined).join(" "));
  return words.every((word) => haystack.includes(word));
}

function fold(text) {
  return String(text || "").normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}
