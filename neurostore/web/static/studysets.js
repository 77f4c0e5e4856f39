// Studyset page: one checkbox selects or clears every study of the table.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("pick-all");
  if (!all) return;
  const boxes = () => document.querySelectorAll("table.members tbody input[name=study]");
  all.addEventListener("change", () => boxes().forEach((b) => { b.checked = all.checked; }));
});
