// The link maker: the active operation's fields, sent as a link's query, come back from
// the launcher as the link, its badges and the notebook it would launch.
"use strict";

(function () {
  const form = document.getElementById("maker");
  const select = document.getElementById("operation");
  const result = document.getElementById("result");
  const problem = document.getElementById("problem");

  function activate() {
    for (const fieldset of form.querySelectorAll("fieldset.fields")) {
      const on = fieldset.dataset.operation === select.value;
      fieldset.hidden = !on;
      fieldset.disabled = !on;
    }
    result.hidden = true;
    problem.hidden = true;
  }

  function query() {
    const params = new URLSearchParams();
    const fieldset = form.querySelector(`fieldset[data-operation="${select.value}"]`);
    for (const input of fieldset.querySelectorAll("input, select")) {
      if (input.value !== "") params.append(input.name, input.value);
    }
    return params.toString();
  }

  function showCells(cells) {
    const list = document.getElementById("preview");
    list.replaceChildren();
    for (const cell of cells) {
      const item = document.createElement("li");
      item.className = "cell cell-" + cell.kind;
      const kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = cell.kind;
      const pre = document.createElement("pre");
      pre.textContent = cell.source;
      item.append(kind, pre);
      list.append(item);
    }
  }

  async function make() {
    const url = `${form.dataset.base}launch/preview/${select.value}?${query()}`;
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({ title: response.statusText }));
    if (!response.ok) {
      result.hidden = true;
      document.getElementById("problem-title").textContent = body.title || "Not a valid link";
      document.getElementById("problem-detail").textContent = body.detail || "";
      problem.hidden = false;
      return;
    }
    problem.hidden = true;
    document.getElementById("link").value = body.link;
    document.getElementById("open-link").href = body.link;
    document.getElementById("markdown").value = body.markdown;
    document.getElementById("html").value = body.html;
    document.getElementById("preview-filename").textContent = body.filename;
    showCells(body.cells);
    result.hidden = false;
  }

  async function copy(id) {
    const field = document.getElementById(id);
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
    } catch (error) {
      document.execCommand("copy");
    }
  }

  select.addEventListener("change", activate);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    make();
  });
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", () => copy(button.dataset.copy));
  }
  activate();
})();
