// The launch page: POST the link with the session's CSRF token, follow the launch's
// server-sent events, go to JupyterLab when it is launched, show a problem otherwise.
"use strict";

(function () {
  const form = document.getElementById("launch-form");
  const button = document.getElementById("launch");
  const launching = document.getElementById("launching");
  const bar = document.getElementById("progress");
  const message = document.getElementById("progress-message");
  const problem = document.getElementById("problem");

  function showProblem(body) {
    launching.hidden = true;
    document.getElementById("problem-title").textContent = body.title || "The launch failed";
    document.getElementById("problem-detail").textContent = body.detail || "";
    problem.hidden = false;
    button.disabled = false;
    button.hidden = true;
    document.getElementById("retry").focus();
  }

  function showProgress(body) {
    if (typeof body.progress === "number") {
      bar.value = body.progress;
      bar.textContent = body.progress + " %";
    }
    if (body.message) {
      message.textContent = body.message;
    }
  }

  // One server-sent event: "event: name" and "data: json" lines.
  function parse(block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trim());
    }
    return data.length ? { name: name, body: JSON.parse(data.join("\n")) } : null;
  }

  // Returns true once the launch has ended, either way.
  function handle(event) {
    if (event.name === "progress") {
      showProgress(event.body);
      return false;
    }
    if (event.name === "launched") {
      showProgress({ progress: 100, message: "Opening JupyterLab" });
      window.location.assign(event.body.location);
      return true;
    }
    if (event.name === "problem") {
      showProblem(event.body);
      return true;
    }
    return false;
  }

  async function follow(response) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      buffer += value.replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event && handle(event)) return true;
      }
    }
  }

  async function launch() {
    problem.hidden = true;
    button.disabled = true;
    launching.hidden = false;
    showProgress({ progress: 0, message: "Asking the launcher" });
    let response;
    try {
      response = await fetch(window.location.pathname + window.location.search, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "text/event-stream", "X-CSRFToken": form.dataset.csrf },
      });
    } catch (error) {
      showProblem({ title: "No connection", detail: "The launcher could not be reached." });
      return;
    }
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      showProblem({ title: body.title || response.statusText, detail: body.detail || "" });
      return;
    }
    try {
      if (!(await follow(response))) {
        showProblem({
          title: "The launch stopped",
          detail: "The connection closed before the launch ended; your notebook may be there already.",
        });
      }
    } catch (error) {
      showProblem({ title: "The launch stopped", detail: String(error) });
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    launch();
  });
  document.getElementById("retry").addEventListener("click", function () {
    button.hidden = false;
    launch();
  });
})();
