// Shared by the ingest pages: the bearer token kept in this tab's sessionStorage, authenticated
// fetches and WebSockets, the login form. Nothing is loaded from anywhere but this service.
"use strict";

const TOKEN_KEY = "actors-ingest-token";

function ingestToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

// A fetch of a JSON route with "Authorization: Bearer <token>" when a token is kept.
// Resolves to the decoded body; on 401 it shows the login form and rejects.
async function ingestJson(path) {
  const headers = {};
  const token = ingestToken();
  if (token) headers["Authorization"] = "Bearer " + token;
  const response = await fetch(path, { headers: headers, cache: "no-store" });
  if (response.status === 401) {
    showLogin(token ? "That token was refused; enter the service's API token." : "");
    throw new Error("unauthorized");
  }
  const body = await response.json();
  if (!response.ok) {
    showStatus("error: " + (body.error || response.status));
    throw new Error(body.error || String(response.status));
  }
  return body;
}

// A WebSocket to this service; a browser cannot set Authorization on it, so the token is offered
// as the subprotocols "bearer, <token>" (the service answers "bearer" and never logs the token).
function ingestSocket(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = scheme + "//" + location.host + path;
  const token = ingestToken();
  return token ? new WebSocket(url, ["bearer", token]) : new WebSocket(url);
}

function showStatus(text) {
  const status = document.getElementById("status");
  if (status) status.textContent = text;
}

function showLogin(message) {
  const form = document.getElementById("login");
  form.hidden = false;
  document.getElementById("login-message").textContent = message || "This service needs its API token.";
  document.getElementById("main").hidden = true;
}

// The shared header and login form (written once, in _header.html, and put into every page by the
// service): marks the current page's link, offers "Forget token" only while a token is kept, and
// keeps a submitted token for this tab. The form shows only when the service asks for a token (401).
function setUpLogin() {
  for (const link of document.querySelectorAll("header nav a")) {
    if (link.getAttribute("href") === location.pathname) link.setAttribute("aria-current", "page");
  }
  document.getElementById("logout").hidden = !ingestToken();
  const form = document.getElementById("login");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = document.getElementById("token").value.trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    location.reload();
  });
  document.getElementById("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload();
  });
}

// Seconds on the call timeline as m:ss.t
function audioTime(seconds) {
  const minutes = Math.floor(seconds / 60);
  const rest = (seconds - minutes * 60).toFixed(1).padStart(4, "0");
  return minutes + ":" + rest;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
