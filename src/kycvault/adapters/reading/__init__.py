"""Reading documents: text layers, OCR (Tesseract), MRZ location and edit traces."""
