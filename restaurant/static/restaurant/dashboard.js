// The branch dashboard: renders active preparations, applies websocket updates live,
// moves preparations with PATCH, and after a dropped connection reconnects and refreshes.
// What a card says (status, action, whether it is listed) comes from the server's payload;
// the page only ignores messages older (by `version`) than what it shows.
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const labels = config.labels;
  const urgency = config.urgency;
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const listElement = document.getElementById("preparations");
  const emptyElement = document.getElementById("empty");
  const countElement = document.getElementById("count");
  const connectionElement = document.getElementById("connection");
  const noticeElement = document.getElementById("notice");
  const offlineElement = document.getElementById("offline");

  // Ages are measured on the server's clock, carried forward by the monotonic clock: neither a wrong
  // tablet clock nor a page open for hours (or restored from the back/forward cache) skews them.
  let serverEpoch = Date.parse(config.serverTime);
  let monotonicEpoch = performance.now();
  function serverNow() {
    return serverEpoch + (performance.now() - monotonicEpoch);
  }
  // The monotonic clock may stop while the device sleeps: after that, the next answer's Date resets it.
  let clockSuspect = false;
  function resyncClock(response) {
    if (!clockSuspect) return;
    clockSuspect = false;
    const date = Date.parse(response.headers.get("Date") || "");
    // The Date header has whole seconds: only a real drift moves the clock.
    if (!Number.isNaN(date) && Math.abs(date - serverNow()) > 2000) {
      serverEpoch = date;
      monotonicEpoch = performance.now();
    }
  }

  const preparations = new Map(); // id -> preparation object (contract §4)
  const versions = new Map(); // id -> newest version seen, kept after the card leaves
  const rendered = new Map(); // id -> {element, json}
  let socket = null;
  let retryDelay = 500;
  let retryTimer = null;
  let refreshSequence = 0;
  let buffered = null; // updates received while a refresh is in flight

  function apply(preparation) {
    if (preparation.branch_id !== undefined && preparation.branch_id !== config.branchId) return;
    const seen = versions.get(preparation.id);
    if (seen !== undefined && typeof preparation.version === "number" && preparation.version < seen) return;
    if (typeof preparation.version === "number") versions.set(preparation.id, preparation.version);
    if (preparation.active !== false) preparations.set(preparation.id, preparation);
    else preparations.delete(preparation.id);
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function ageMs(createdAt) {
    return Math.max(0, serverNow() - Date.parse(createdAt));
  }

  function ageText(createdAt) {
    const minutes = Math.floor(ageMs(createdAt) / 60000);
    return minutes < 1 ? labels.justNow : format(labels.minutes, { n: minutes });
  }

  function urgencyOf(createdAt) {
    const minutes = ageMs(createdAt) / 60000;
    if (minutes >= urgency.lateMinutes) return "late";
    if (minutes >= urgency.warningMinutes) return "warning";
    return "normal";
  }

  // Sets a card's age, urgency and "new" mark from the clock (called on render and every second).
  function updateAge(card) {
    const createdAt = card.dataset.createdAt;
    const level = urgencyOf(createdAt);
    card.dataset.urgency = level;
    card.dataset.new = String(ageMs(createdAt) < urgency.newSeconds * 1000);
    const age = card.querySelector(".age");
    const text = ageText(createdAt);
    if (age.textContent !== text) age.textContent = text;
    const flag = card.querySelector(".urgency-flag");
    flag.hidden = level === "normal";
    flag.textContent = level === "normal" ? "" : labels.urgency[level];
  }

  function bundleKey(preparation) {
    const bundle = preparation.bundle || [];
    return bundle.length > 1 ? bundle.join("|") : "";
  }

  // Bundles take one of a few colours that all keep white text at AA contrast (see dashboard.css). A
  // bundle keeps its colour while it is on the page; bundles shown together never share one.
  const BUNDLE_COLOURS = 6;
  const bundleColours = new Map(); // bundle key -> colour index
  function assignBundleColours() {
    const keys = new Set([...preparations.values()].map(bundleKey).filter(Boolean));
    for (const key of bundleColours.keys()) if (!keys.has(key)) bundleColours.delete(key);
    for (const key of [...keys].sort()) {
      if (bundleColours.has(key)) continue;
      let hash = 0;
      for (const ch of key) hash = (hash * 31 + ch.charCodeAt(0)) % 9973;
      const taken = new Set(bundleColours.values());
      let colour = hash % BUNDLE_COLOURS;
      for (let step = 0; step < BUNDLE_COLOURS && taken.has(colour); step += 1) colour = (colour + 1) % BUNDLE_COLOURS;
      bundleColours.set(key, colour);
    }
  }

  function aggregatorName(order) {
    return labels.aggregators[order.aggregator] || order.aggregator || labels.source.aggregator;
  }

  function renderCard(preparation) {
    const order = preparation.order;
    const card = el("li", "card");
    card.dataset.preparationId = String(preparation.id);
    card.dataset.albaikIdentifier = order.albaik_identifier;
    card.dataset.status = preparation.status;
    card.dataset.source = order.source;
    card.dataset.version = String(preparation.version);
    card.dataset.createdAt = order.created_at;

    const header = el("div", "card-header");
    header.append(el("span", "order-id", order.albaik_identifier));
    const age = el("span", "age");
    header.append(age);
    card.append(header);

    const tags = el("div", "tags");
    tags.append(el("span", "new-flag", labels.new));
    const flag = el("span", "urgency-flag");
    flag.hidden = true;
    tags.append(flag);
    if (order.source === "aggregator") {
      const source = el("span", "tag source", aggregatorName(order));
      source.dataset.source = "aggregator";
      source.title = labels.source.aggregator;
      tags.append(source);
      if (order.aggregator_id) tags.append(el("span", "aggregator-id", "#" + order.aggregator_id));
    } else {
      const source = el("span", "tag source", labels.source.own_fleet);
      source.dataset.source = "own_fleet";
      tags.append(source);
    }
    tags.append(el("span", "tag kind", labels.kind[preparation.kind] || preparation.kind));
    card.append(tags);

    const key = bundleKey(preparation);
    if (key) {
      const others = preparation.bundle.filter((identifier) => identifier !== order.albaik_identifier);
      const mark = el("div", "bundle", format(labels.cookTogetherWith, { orders: others.join(", ") }));
      mark.dataset.bundle = preparation.bundle.join(",");
      mark.title = labels.cookTogether;
      card.classList.add("bundled");
      card.dataset.bundleColour = String(bundleColours.get(key));
      card.append(mark);
    }

    const items = el("ul", "items");
    for (const item of order.items) {
      const line = el("li", "item");
      line.append(el("span", "quantity", item.quantity + "×"), el("span", "name", item.name));
      items.append(line);
    }
    card.append(items);

    const status = el("div", "status-line");
    const badge = el("span", "status", labels.status[preparation.status] || preparation.status);
    badge.dataset.status = preparation.status;
    status.append(badge);
    card.append(status);

    const people = el("div", "people");
    if (order.source === "aggregator") {
      const courier = el("div", "courier");
      if (preparation.courier) {
        courier.dataset.courierStatus = preparation.courier.status || "";
        courier.append(el("span", "label", labels.courier + ":"), el("span", "person", preparation.courier.name));
        if (preparation.courier.phone) courier.append(el("span", "phone", preparation.courier.phone));
        if (preparation.courier.status) {
          const text = labels.courierStatus[preparation.courier.status] || preparation.courier.status;
          courier.append(el("span", "courier-status", text));
        }
      } else {
        courier.dataset.courierStatus = "waiting";
        courier.classList.add("waiting");
        courier.append(el("span", "courier-status", labels.waitingForCourier));
      }
      people.append(courier);
    } else if (preparation.driver) {
      const driver = el("div", "driver");
      driver.dataset.arrived = String(Boolean(preparation.driver.arrived));
      driver.dataset.deliveryStatus = preparation.driver.delivery_status || "";
      driver.append(el("span", "label", labels.driver + ":"), el("span", "person", preparation.driver.name));
      const arrived = preparation.driver.arrived;
      driver.append(el("span", arrived ? "arrival arrived" : "arrival", arrived ? "✓ " + labels.arrived : labels.notArrived));
      people.append(driver);
    } else if (preparation.kind === "delivery") {
      people.append(el("div", "driver none", labels.noDriver));
    }
    card.append(people);

    const next = preparation.next_status;
    if (next) {
      const actions = el("div", "actions");
      const button = el("button", "action", labels.action[next]);
      button.type = "button";
      button.dataset.action = next;
      button.addEventListener("click", () => move(preparation.id, next, button));
      actions.append(button);
      card.append(actions);
    }
    updateAge(card);
    return card;
  }

  function sortedPreparations() {
    // A bundle sits where its oldest order would, its orders side by side.
    const anchor = new Map();
    for (const preparation of preparations.values()) {
      const key = bundleKey(preparation) || "#" + preparation.id;
      const time = Date.parse(preparation.order.created_at);
      anchor.set(key, Math.min(anchor.has(key) ? anchor.get(key) : Infinity, time));
    }
    const keyOf = (preparation) => bundleKey(preparation) || "#" + preparation.id;
    return [...preparations.values()].sort((a, b) => {
      const ka = keyOf(a);
      const kb = keyOf(b);
      return (
        anchor.get(ka) - anchor.get(kb) ||
        (ka < kb ? -1 : ka > kb ? 1 : 0) ||
        Date.parse(a.order.created_at) - Date.parse(b.order.created_at) ||
        a.id - b.id
      );
    });
  }

  function renderAll() {
    assignBundleColours();
    const sorted = sortedPreparations();
    for (const [id, entry] of rendered) {
      if (!preparations.has(id)) {
        entry.element.remove();
        rendered.delete(id);
      }
    }
    let previous = null;
    let previousKey = "";
    for (const preparation of sorted) {
      const json = JSON.stringify(preparation);
      let entry = rendered.get(preparation.id);
      if (!entry || entry.json !== json) {
        const element = renderCard(preparation);
        if (entry) entry.element.replaceWith(element);
        entry = { element, json };
        rendered.set(preparation.id, entry);
      }
      const wanted = previous ? previous.nextElementSibling : listElement.firstElementChild;
      if (wanted !== entry.element) listElement.insertBefore(entry.element, wanted);
      // A bundle starts a row of the grid, so its cards stand side by side.
      const key = bundleKey(preparation);
      entry.element.dataset.bundleStart = String(Boolean(key) && key !== previousKey);
      previousKey = key;
      previous = entry.element;
    }
    emptyElement.hidden = sorted.length > 0;
    emptyElement.textContent = labels.empty;
    countElement.textContent = String(sorted.length);
  }

  function showNotice(text) {
    noticeElement.textContent = text;
    noticeElement.hidden = !text;
  }

  function setConnection(state) {
    connectionElement.dataset.state = state;
    connectionElement.textContent = labels.connection[state];
    document.body.dataset.connection = state;
    offlineElement.hidden = state !== "closed";
  }

  function goToLogin() {
    window.location.assign("/restaurant/login/?next=" + encodeURIComponent(window.location.pathname));
  }

  async function refresh() {
    const sequence = ++refreshSequence;
    buffered = [];
    try {
      const response = await fetch(config.listUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.status === 401) return goToLogin();
      if (!response.ok) throw new Error("refresh failed: " + response.status);
      resyncClock(response);
      const list = await response.json();
      if (sequence !== refreshSequence) return;
      const pending = buffered || [];
      buffered = null;
      preparations.clear();
      list.forEach(apply);
      pending.forEach(apply);
      renderAll();
      document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
    } catch (error) {
      if (sequence !== refreshSequence) return;
      const pending = buffered || [];
      buffered = null;
      pending.forEach(apply);
      renderAll();
    }
  }

  async function move(preparationId, status, button) {
    button.disabled = true;
    try {
      const response = await fetch(config.updateUrl.replace(/\/0\/$/, "/" + preparationId + "/"), {
        method: "PATCH",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken },
        body: JSON.stringify({ status }),
      });
      const body = await response.json().catch(() => null);
      if (response.ok && body) {
        showNotice("");
        apply(body);
        renderAll();
        return;
      }
      if (response.status === 401) return goToLogin();
      const code = body && body.error ? body.error.code : "";
      showNotice(labels.errors[code] || labels.errors.generic);
      if (code === "invalid_transition") refresh();
    } catch (error) {
      showNotice(labels.errors.generic);
    } finally {
      button.disabled = false;
    }
  }

  function scheduleReconnect() {
    clearTimeout(retryTimer);
    const delay = retryDelay + Math.random() * 250;
    retryDelay = Math.min(retryDelay * 2, 10000);
    retryTimer = setTimeout(connect, delay);
  }

  function connect() {
    clearTimeout(retryTimer);
    setConnection(socket ? connectionElement.dataset.state : "connecting");
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close();
    const ws = new WebSocket(scheme + "://" + window.location.host + config.socketPath);
    socket = ws;
    ws.addEventListener("open", () => {
      if (socket !== ws) return;
      retryDelay = 500;
      setConnection("open");
      // Whatever was broadcast while disconnected is picked up here.
      refresh();
    });
    ws.addEventListener("message", (event) => {
      if (socket !== ws) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (message.type !== "preparation.updated" || !message.preparation) return;
      if (buffered) {
        buffered.push(message.preparation);
        return;
      }
      apply(message.preparation);
      renderAll();
    });
    ws.addEventListener("close", (event) => {
      if (socket !== ws) return;
      if (event.code === 4403) {
        socket = null;
        setConnection("forbidden");
        return;
      }
      setConnection("closed");
      scheduleReconnect();
    });
  }

  function updateAges() {
    for (const card of listElement.querySelectorAll(".card")) updateAge(card);
  }

  window.addEventListener("online", () => {
    clockSuspect = true;
    if (connectionElement.dataset.state === "closed") connect();
  });
  window.addEventListener("offline", () => {
    if (connectionElement.dataset.state === "open") setConnection("closed");
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible") return;
    clockSuspect = true;
    updateAges();
    if (connectionElement.dataset.state === "open") refresh();
  });
  // Restored from the back/forward cache: the list and the clock are as old as the page.
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    clockSuspect = true;
    connect();
  });
  setInterval(updateAges, 1000);

  config.preparations.forEach(apply);
  renderAll();
  connect();
})();
