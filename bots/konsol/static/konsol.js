// One click sends a form once (the server makes a second send harmless anyway).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.classList && form.classList.contains("once")) {
    setTimeout(() => form.querySelectorAll("button").forEach((b) => { b.disabled = true; }), 0);
  }
});
