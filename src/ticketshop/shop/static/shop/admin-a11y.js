/* Names for the admin's inline table fields, which Django labels only by
   their column header (and select2's combobox by nothing): each field of a
   td.field-<name> gets the text of its th.column-<name> as aria-label; the
   date and time boxes of a split date-time field get the field's name and
   their part. Runs again when rows are added or select2 draws its box. */
"use strict";

(function () {
  function nameFields() {
    document.querySelectorAll("table").forEach((table) => {
      const heads = {};
      table.querySelectorAll("thead th[class*='column-']").forEach((th) => {
        const column = [...th.classList].find((name) => name.startsWith("column-"));
        if (column) heads[column.slice(7)] = th.textContent.trim();
      });
      table.querySelectorAll("td[class*='field-']").forEach((td) => {
        const field = [...td.classList].find((name) => name.startsWith("field-"));
        const title = field && heads[field.slice(6)];
        if (!title) return;
        td.querySelectorAll(
          "input:not([type=hidden]), select, textarea, .select2-selection, .select2-selection__rendered",
        ).forEach((node) => {
          if (!node.getAttribute("aria-label") && !(node.labels && node.labels.length)) {
            node.setAttribute("aria-label", title);
          }
        });
      });
    });
  }

  // Date and time of a split date-time field: "Starts at: Date".
  function nameDateTimes() {
    document.querySelectorAll("p.datetime input:not([type=hidden])").forEach((input) => {
      if (input.getAttribute("aria-label") || (input.labels && input.labels.length)) return;
      let before = input.previousSibling;
      while (before && before.nodeType !== Node.TEXT_NODE) before = before.previousSibling;
      const part = before ? before.textContent.trim().replace(/:$/, "") : "";
      const row = input.closest(".form-row, fieldset");
      const heading = row && row.querySelector("legend, label");
      const field = heading ? heading.textContent.trim().replace(/:$/, "") : "";
      const name = [field, part].filter(Boolean).join(": ");
      if (name) input.setAttribute("aria-label", name);
    });
  }

  let pending = null;
  const again = () => {
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      nameFields();
      nameDateTimes();
    }, 50);
  };
  document.addEventListener("DOMContentLoaded", () => {
    nameFields();
    nameDateTimes();
    new MutationObserver(again).observe(document.body, { childList: true, subtree: true });
  });
})();
