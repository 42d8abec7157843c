// DataOS web app: our own small script, no framework.
//  - [data-fragment="url"]: loaded into the element once the page is shown.
//  - [data-poll="url"][data-delay="ms"]: fetched after the delay and replaced (outer HTML)
//    by the answer; an answer holding another [data-poll] keeps polling (runs, logs).
//  - form[data-target="#id"]: submitted with fetch, the answer shown in #id;
//    data-also="url #id" posts the same form to a second URL into a second target.
//  - [data-get="url"][data-target="#id"]: a button loading a fragment into #id.
//  - textarea[data-ctrl-enter]: Ctrl+Enter (or Cmd+Enter) submits its form.
//  - [role=tablist]: tabs switched by click and by the arrow keys.
// Every fetch sends X-Fragment (the server answers a fragment) and, unless a GET, the
// session's CSRF token in X-CSRF-Token; a 401 carrying X-Sign-In leads to the sign-in page.
(function () {
  "use strict";
  var busy = 0;

  function progress(delta) {
    busy += delta;
    var bar = document.querySelector(".progress");
    if (bar) bar.hidden = busy <= 0;
  }

  function fetchFragment(url, options) {
    options = options || {};
    var headers = { "X-Fragment": "1", "X-Page": location.pathname + location.search };
    var method = (options.method || "GET").toUpperCase();
    if (method !== "GET") headers["X-CSRF-Token"] = document.body.dataset.csrf || "";
    if (options.body) headers["Content-Type"] = "application/x-www-form-urlencoded";
    progress(1);
    return fetch(url, {
      method: method,
      body: options.body,
      headers: headers,
      credentials: "same-origin",
      redirect: "follow",
    })
      .then(function (response) {
        var signIn = response.headers.get("X-Sign-In");
        if (response.status === 401 && signIn) {
          location.assign(signIn);
          return Promise.reject(new Error("signed out"));
        }
        return response.text();
      })
      .finally(function () {
        progress(-1);
      });
  }

  function show(target, html) {
    target.innerHTML = html;
    target.removeAttribute("aria-busy");
    init(target);
  }

  function failed(target) {
    return function (error) {
      if (error && error.message === "signed out") return;
      target.removeAttribute("aria-busy");
      target.innerHTML = '<p class="error" role="alert">The server could not be reached.</p>';
    };
  }

  function loadInto(target, url, options) {
    target.setAttribute("aria-busy", "true");
    return fetchFragment(url, options).then(function (html) {
      show(target, html);
    }, failed(target));
  }

  function poll(element) {
    var delay = parseInt(element.dataset.delay || "500", 10);
    setTimeout(function () {
      if (!element.isConnected) return;
      fetchFragment(element.dataset.poll).then(function (html) {
        if (!element.isConnected) return;
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var parent = element.parentNode;
        var nodes = Array.prototype.slice.call(holder.childNodes);
        nodes.forEach(function (node) {
          parent.insertBefore(node, element);
        });
        parent.removeChild(element);
        nodes.forEach(function (node) {
          if (node.nodeType === 1) init(node, true);
        });
      }, failed(element));
    }, delay);
  }

  function formBody(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    return new URLSearchParams(data).toString();
  }

  function onSubmit(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.target) return;
    if (event.submitter && event.submitter.hasAttribute("data-download")) return;
    event.preventDefault();
    var body = formBody(form, event.submitter);
    var target = document.querySelector(form.dataset.target);
    loadInto(target, form.getAttribute("action"), { method: form.getAttribute("method") || "GET", body: body });
    if (form.dataset.also) {
      var parts = form.dataset.also.split(" ");
      var second = document.querySelector(parts[1]);
      if (second) loadInto(second, parts[0], { method: "POST", body: body });
    }
    if (form.dataset.focus) {
      var focus = document.querySelector(form.dataset.focus);
      if (focus) focus.focus();
    }
  }

  function onClick(event) {
    var button = event.target.closest ? event.target.closest("[data-get]") : null;
    if (!button) return;
    event.preventDefault();
    var target = document.querySelector(button.dataset.target);
    if (target) loadInto(target, button.dataset.get);
  }

  function onKey(event) {
    var area = event.target;
    if (area.matches && area.matches("textarea[data-ctrl-enter]") && event.key === "Enter"
        && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (area.form.requestSubmit) area.form.requestSubmit();
      else area.form.submit();
    }
  }

  function selectTab(tab) {
    var list = tab.closest("[role=tablist]");
    list.querySelectorAll("[role=tab]").forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      other.tabIndex = selected ? 0 : -1;
      var panel = document.getElementById(other.getAttribute("aria-controls"));
      if (panel) panel.hidden = !selected;
    });
  }

  function initTabs(root) {
    root.querySelectorAll("[role=tablist]").forEach(function (list) {
      var tabs = Array.prototype.slice.call(list.querySelectorAll("[role=tab]"));
      tabs.forEach(function (tab, index) {
        tab.addEventListener("click", function () {
          selectTab(tab);
        });
        tab.addEventListener("keydown", function (event) {
          var step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
          if (!step) return;
          event.preventDefault();
          var next = tabs[(index + step + tabs.length) % tabs.length];
          selectTab(next);
          next.focus();
        });
      });
    });
  }

  function init(root, self) {
    var scope = root || document;
    var polls = Array.prototype.slice.call(scope.querySelectorAll("[data-poll]"));
    if (self && root.matches && root.matches("[data-poll]")) polls.push(root);
    polls.forEach(poll);
    scope.querySelectorAll("[data-fragment]").forEach(function (element) {
      var url = element.dataset.fragment;
      element.removeAttribute("data-fragment");
      loadInto(element, url);
    });
    initTabs(scope);
  }

  document.addEventListener("submit", onSubmit);
  document.addEventListener("click", onClick);
  document.addEventListener("keydown", onKey);
  document.addEventListener("DOMContentLoaded", function () {
    init(document);
  });
})();
