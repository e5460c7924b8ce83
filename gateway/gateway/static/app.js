// Progressive enhancement only: every form works without this file.
// 1. A selection in the text fills the comment form's span (UTF-8 byte offsets, as the API counts).
// 2. Attachments are uploaded to /api/v1/attachments as soon as they are chosen and added to the
//    item form (without script, the form itself carries the chosen files).
// 3. Forms with data-confirm ask before a destructive action.
// 4. A form sent once is not sent again by a second click: its buttons are disabled once pressed
//    (the server is idempotent anyway: the new-item form carries a token, votes bind to a digest).
"use strict";
(function () {
  const utf8 = (s) => new TextEncoder().encode(s).length;

  function textOffset(root, node, offset) {
    let count = 0;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (n === node) return count + utf8(n.data.slice(0, offset));
      count += utf8(n.data);
    }
    return null;
  }

  const form = document.getElementById("comment-form");
  if (form) {
    document.addEventListener("selectionchange", function () {
      const sel = document.getSelection();
      if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return;
      const range = sel.getRangeAt(0);
      const root = range.startContainer.parentElement && range.startContainer.parentElement.closest("[data-field]");
      if (!root || !root.contains(range.endContainer)) return;
      const start = textOffset(root, range.startContainer, range.startOffset);
      const end = textOffset(root, range.endContainer, range.endOffset);
      if (start === null || end === null || end <= start) return;
      form.elements.field.value = root.dataset.field;
      form.elements.start.value = start;
      form.elements.end.value = end;
      form.querySelector(".selection").textContent = "批注针对选中的文字：“" + sel.toString().slice(0, 60) + "”";
    });
  }

  document.querySelectorAll("input[data-upload]").forEach(function (input) {
    const row = input.closest(".row");
    const list = document.getElementById(input.dataset.upload);
    const status = row && row.querySelector(".upload-status");
    input.addEventListener("change", async function () {
      for (const file of input.files) {
        if (status) status.textContent = "正在上传：" + file.name;
        const response = await fetch("/api/v1/attachments", {
          method: "POST",
          headers: { "Content-Type": file.type || "application/octet-stream" },
          body: file,
          credentials: "same-origin",
        });
        const body = await response.json().catch(() => ({}));
        if (!response.ok) {
          if (status) status.textContent = "上传失败：" + (body.detail || response.status);
          continue;
        }
        const li = document.createElement("li");
        const label = document.createElement("label");
        const box = document.createElement("input");
        box.type = "checkbox"; box.name = "attachment"; box.checked = true;
        box.value = body.digest + "|" + file.name;
        label.append(box, " " + file.name);
        li.append(label);
        list.append(li);
        if (status) status.textContent = "已上传：" + file.name;
      }
      input.value = "";
    });
  });

  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.dataset.confirm)) e.preventDefault();
    });
  });

  // After the per-form listeners (a confirmation may have cancelled the submission).
  document.addEventListener("submit", function (e) {
    const f = e.target;
    if (e.defaultPrevented || !(f instanceof HTMLFormElement)) return;
    if (f.dataset.sent) {
      e.preventDefault();
      return;
    }
    f.dataset.sent = "1";
    f.setAttribute("aria-busy", "true");
    // The submission's data already holds the pressed button; disable after it is taken.
    setTimeout(function () {
      f.querySelectorAll("button, input[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
    // A stopped or failed load must not leave the form dead.
    setTimeout(function () { enable(f); }, 15000);
  });

  function enable(f) {
    delete f.dataset.sent;
    f.removeAttribute("aria-busy");
    f.querySelectorAll("button, input[type=submit]").forEach(function (b) { b.disabled = false; });
  }

  // A page shown again from the back/forward cache gets its buttons back.
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) document.querySelectorAll("form[data-sent]").forEach(enable);
  });
})();
