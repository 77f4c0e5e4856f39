// Spreadsheet conveniences of the study editor (the form works without them): add and
// remove peak rows, paste a block of cells copied from a spreadsheet into the peak table,
// and move between rows with Enter and the arrow keys.
(function () {
  "use strict";
  const COLUMNS = ["x", "y", "z", "value"];

  function nextIndex(table) {
    let top = -1;
    table.querySelectorAll("input[name$='-x']").forEach(function (input) {
      const m = input.name.match(/-points-(\d+)-x$/);
      if (m) top = Math.max(top, parseInt(m[1], 10));
    });
    return top + 1;
  }

  function addRow(table) {
    const a = table.dataset.analysis;
    const j = nextIndex(table);
    const body = table.tBodies[0];
    const row = document.createElement("tr");
    const name = "analyses-" + a + "-points-" + j;
    const head = document.createElement("th");
    head.scope = "row";
    head.textContent = String(body.rows.length + 1);
    const id = document.createElement("input");
    id.type = "hidden"; id.name = name + "-id"; id.value = "";
    head.appendChild(id);
    row.appendChild(head);
    COLUMNS.forEach(function (column) {
      const cell = document.createElement("td");
      const input = document.createElement("input");
      input.name = name + "-" + column; input.id = input.name; input.size = 7;
      input.inputMode = "decimal";
      input.setAttribute("aria-label", "Analysis " + (Number(a) + 1) + ", new peak " +
                         (body.rows.length + 1) + ", " + column);
      cell.appendChild(input);
      row.appendChild(cell);
    });
    const cell = document.createElement("td");
    const drop = document.createElement("button");
    drop.type = "button"; drop.className = "link"; drop.textContent = "remove row";
    drop.addEventListener("click", function () { row.remove(); });
    cell.appendChild(drop);
    row.appendChild(cell);
    body.appendChild(row);
    return row;
  }

  function cellAt(table, rowIndex, column) {
    const rows = table.tBodies[0].rows;
    while (rows.length <= rowIndex) addRow(table);
    return rows[rowIndex].querySelector("input[name$='-" + COLUMNS[column] + "']");
  }

  function position(input) {
    const m = input.name.match(/-(x|y|z|value)$/);
    return m ? [input.closest("tr").sectionRowIndex, COLUMNS.indexOf(m[1])] : null;
  }

  function paste(event) {
    const input = event.target;
    const at = position(input);
    const text = (event.clipboardData || window.clipboardData).getData("text");
    if (!at || !/[\t\n,;]|\S\s+\S/.test(text.trim())) return;  // one value: paste as usual
    event.preventDefault();
    const table = input.closest("table");
    text.replace(/\r/g, "").split("\n").filter(function (line) { return line.trim(); })
      .forEach(function (line, r) {
        line.trim().split(/[\t,;]+|\s+/).forEach(function (value, c) {
          if (at[1] + c < COLUMNS.length) cellAt(table, at[0] + r, at[1] + c).value = value;
        });
      });
  }

  function keys(event) {
    const input = event.target;
    const at = position(input);
    if (!at) return;
    let row = null;
    if (event.key === "Enter" || event.key === "ArrowDown") row = at[0] + 1;
    else if (event.key === "ArrowUp" && at[0] > 0) row = at[0] - 1;
    if (row === null) return;
    event.preventDefault();  // Enter in a cell moves down instead of sending the form
    const table = input.closest("table");
    if (row >= table.tBodies[0].rows.length && event.key !== "Enter") return;
    cellAt(table, row, at[1]).focus();
  }

  document.querySelectorAll("table.peaks-edit").forEach(function (table) {
    const button = document.createElement("button");
    button.type = "button"; button.className = "secondary add-row";
    button.textContent = "Add a peak row";
    button.addEventListener("click", function () {
      addRow(table).querySelector("input[name$='-x']").focus();
    });
    table.parentNode.after(button);
    table.addEventListener("paste", paste);
    table.addEventListener("keydown", keys);
  });
})();
