package natter.client;

/** A client that could not be made: the message says why, naming the server it tried. */
public final class NatterException extends Exception {
  public NatterException(String message) {
    super(message);
  }
}
