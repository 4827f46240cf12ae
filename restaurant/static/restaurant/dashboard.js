// The branch dashboard: renders active preparations, applies websocket updates live,
// moves preparations with PATCH, and after a dropped connection reconnects and refreshes.
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const labels = config.labels;
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const listElement = document.getElementById("preparations");
  const emptyElement = document.getElementById("empty");
  const countElement = document.getElementById("count");
  const connectionElement = document.getElementById("connection");
  const noticeElement = document.getElementById("notice");

  const NEXT_STATUS = { received: "collecting", collecting: "ready", ready: "handed_over" };
  const FINISHED_DELIVERY = ["delivered", "failed"];
  // The tablet's clock may be off: ages are measured on the server's clock.
  const clockSkew = Date.parse(config.serverTime) - Date.now();

  const preparations = new Map(); // id -> preparation object (contract §4)
  const rendered = new Map(); // id -> {element, json}
  let socket = null;
  let retryDelay = 500;
  let retryTimer = null;
  let refreshSequence = 0;
  let buffered = null; // updates received while a refresh is in flight

  function isActive(preparation) {
    if (preparation.active === false || preparation.status === "handed_over") return false;
    if (preparation.driver && FINISHED_DELIVERY.includes(preparation.driver.delivery_status)) return false;
    if (preparation.courier && preparation.courier.status === "delivered") return false;
    return true;
  }

  function apply(preparation) {
    if (preparation.branch_id !== undefined && preparation.branch_id !== config.branchId) return;
    if (isActive(preparation)) preparations.set(preparation.id, preparation);
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

  function ageText(createdAt) {
    const minutes = Math.floor((Date.now() + clockSkew - Date.parse(createdAt)) / 60000);
    return minutes < 1 ? labels.justNow : format(labels.minutes, { n: minutes });
  }

  function bundleHue(bundle) {
    let hash = 0;
    for (const ch of bundle.join("|")) hash = (hash * 31 + ch.charCodeAt(0)) % 360;
    return hash;
  }

  function renderCard(preparation) {
    const order = preparation.order;
    const card = el("li", "card");
    card.dataset.preparationId = String(preparation.id);
    card.dataset.albaikIdentifier = order.albaik_identifier;
    card.dataset.status = preparation.status;

    const header = el("div", "card-header");
    header.append(el("span", "order-id", order.albaik_identifier));
    if (order.aggregator_id) header.append(el("span", "aggregator-id", "#" + order.aggregator_id));
    header.append(el("span", "tag", labels.kind[preparation.kind] || preparation.kind));
    const age = el("span", "age", ageText(order.created_at));
    age.dataset.createdAt = order.created_at;
    header.append(age);
    card.append(header);

    const bundle = preparation.bundle || [];
    if (bundle.length > 1) {
      const others = bundle.filter((identifier) => identifier !== order.albaik_identifier);
      const mark = el("div", "bundle", format(labels.cookTogetherWith, { orders: others.join(", ") }));
      mark.dataset.bundle = bundle.join(",");
      mark.title = labels.cookTogether;
      card.classList.add("bundled");
      card.style.setProperty("--bundle-hue", String(bundleHue(bundle)));
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
    if (preparation.driver) {
      const driver = el("div", "driver");
      driver.dataset.arrived = String(Boolean(preparation.driver.arrived));
      driver.append(el("span", "label", labels.driver + ": "), el("span", "person", preparation.driver.name));
      driver.dataset.deliveryStatus = preparation.driver.delivery_status || "";
      const arrived = preparation.driver.arrived;
      driver.append(el("span", arrived ? "arrival arrived" : "arrival", arrived ? "✓ " + labels.arrived : labels.notArrived));
      if (preparation.driver.delivery_status === "out_for_delivery") {
        driver.append(el("span", "delivery-status", labels.deliveryStatus.out_for_delivery));
      }
      people.append(driver);
    } else if (!preparation.courier && preparation.kind === "delivery" && order.source !== "aggregator") {
      people.append(el("div", "driver none", labels.noDriver));
    }
    if (preparation.courier) {
      const courier = el("div", "courier");
      courier.dataset.courierStatus = preparation.courier.status || "";
      courier.append(el("span", "label", labels.courier + ": "), el("span", "person", preparation.courier.name));
      if (preparation.courier.phone) courier.append(el("span", "phone", preparation.courier.phone));
      if (preparation.courier.status) {
        courier.append(el("span", "courier-status", labels.courierStatus[preparation.courier.status] || preparation.courier.status));
      }
      people.append(courier);
    }
    card.append(people);

    const next = NEXT_STATUS[preparation.status];
    if (next) {
      const actions = el("div", "actions");
      const button = el("button", "action", labels.action[next]);
      button.type = "button";
      button.dataset.action = next;
      button.addEventListener("click", () => move(preparation.id, next, button));
      actions.append(button);
      card.append(actions);
    }
    return card;
  }

  function sortKey(preparation) {
    return [Date.parse(preparation.order.created_at), preparation.id];
  }

  function renderAll() {
    const sorted = [...preparations.values()].sort((a, b) => {
      const [ta, ia] = sortKey(a);
      const [tb, ib] = sortKey(b);
      return ta - tb || ia - ib;
    });
    for (const [id, entry] of rendered) {
      if (!preparations.has(id)) {
        entry.element.remove();
        rendered.delete(id);
      }
    }
    let previous = null;
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

  window.addEventListener("online", () => {
    if (connectionElement.dataset.state === "closed") connect();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && connectionElement.dataset.state === "open") refresh();
  });
  setInterval(() => {
    for (const age of listElement.querySelectorAll(".age")) age.textContent = ageText(age.dataset.createdAt);
  }, 15000);

  config.preparations.forEach(apply);
  renderAll();
  connect();
})();
