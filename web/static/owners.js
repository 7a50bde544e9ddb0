/* Process editor enhancements; every page works without them.
 * - Saves made on the editor page replace the page content in place (diagram, lists, forms and
 *   the saved message) instead of reloading, keeping the scroll position.
 * - Id fields suggest an id made from the name while it is typed.
 * - The ways-out form shows the sum of the shares as they are typed. */
(function () {
  "use strict";

  function slug(text) {
    var plain = text.normalize ? text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "") : text;
    var id = plain.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 60);
    return id.replace(/_+$/, "");
  }

  document.addEventListener("input", function (event) {
    var source = event.target;
    var targetName = source.getAttribute && source.getAttribute("data-id-source");
    if (targetName && source.form) {
      var target = source.form.elements.namedItem(targetName);
      if (target && !target.value) {
        target.placeholder = slug(source.value);
      }
    }
    if (source.form && source.form.querySelector("[data-exit-total]")) {
      updateTotal(source.form);
    }
  });

  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.querySelector("[data-exit-total]")) {
      updateTotal(form);
    }
  });

  function updateTotal(form) {
    var total = 0;
    form.querySelectorAll("fieldset.owner-exit").forEach(function (row) {
      var target = row.querySelector("select");
      var share = row.querySelector("input[name$='-probability']");
      var remove = row.querySelector("input[name$='-remove']");
      if (target && target.value && share && share.value && !(remove && remove.checked)) {
        var value = parseFloat(share.value);
        if (!isNaN(value)) {
          total += value;
        }
      }
    });
    form.querySelector("[data-exit-total]").textContent = String(Math.round(total * 10000) / 10000);
  }

  var live = document.getElementById("owner-live");
  if (!live || !window.fetch || !window.DOMParser) {
    return;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!live.contains(form) || (form.method || "").toLowerCase() !== "post" || event.defaultPrevented) {
      return;
    }
    event.preventDefault();
    var main = document.getElementById("main");
    var scroll = window.scrollY;
    live.classList.add("is-saving");
    window.fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      return response.text().then(function (html) {
        return { response: response, html: html };
      });
    }).then(function (result) {
      var page = new DOMParser().parseFromString(result.html, "text/html");
      var newMain = page.getElementById("main");
      if (!result.response.redirected || !result.response.ok || !page.getElementById("owner-live") || !newMain) {
        HTMLFormElement.prototype.submit.call(form);
        return;
      }
      main.innerHTML = newMain.innerHTML;
      live = document.getElementById("owner-live");
      document.title = page.title;
      window.scrollTo(0, scroll);
    }).catch(function () {
      HTMLFormElement.prototype.submit.call(form);
    });
  });
})();
